"""Facts stated by sources and the conflicts between them: on the real corpus and on synthetic documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifqa.readers.text import make_document
from lifqa.reliability.facts import extract_facts, find_conflicts
from lifqa.sources import read_sources

ROOT = Path(__file__).resolve().parent.parent

# Document ids of the bundled corpus, by what the curator says they are.
WIKI_MIRROR, VENDOR, SCIDEX = "000_b2d3b1681d340735", "001_ccf4759c050e6e97", "002_ce8a4941deb8f87d"


@pytest.fixture(scope="module")
def real():
    docs = {d.doc_id: d for d in read_sources(ROOT / "corpus").documents}
    return docs, find_conflicts(docs.values())


def synthetic(name: str, text: str, **meta):
    return make_document(f"{name}.txt", text, meta)


def test_real_conflicts_and_benign_readings(real):
    docs, conflicts = real
    by_field = {c["field"]: c for c in conflicts}
    values = lambda field: {v["value"]: v["doc_ids"] for v in by_field[field]["values"]}  # noqa: E731

    assert by_field["ncbi_gene_id"]["status"] == "conflict"
    assert values("ncbi_gene_id") == {"3976": [WIKI_MIRROR], "3977": [SCIDEX]}
    assert by_field["omim"]["status"] == "conflict"
    assert values("omim") == {"159540": [WIKI_MIRROR], "159446": [SCIDEX]}
    assert "uniprot" not in by_field  # P15018 in both: agreement
    assert "ensembl_gene" not in by_field  # ENSG00000128342 twice in one page

    locus = by_field["chromosomal_location"]
    assert locus["status"] == "benign" and "inside" in locus["note"]
    assert values("chromosomal_location") == {"22q11.2-q13.1": [WIKI_MIRROR], "22q12.2": [VENDOR, SCIDEX]}

    length = by_field["protein_length_aa"]
    assert length["status"] == "benign" and "precursor" in length["note"] and "mature" in length["note"]
    assert values("protein_length_aa") == {"180": [VENDOR], "202": [SCIDEX]}

    weight = by_field["molecular_weight"]
    assert weight["status"] == "benign" and weight["scope"] == "within_source" and "glycosyl" in weight["note"]

    for conflict in conflicts:
        for value in conflict["values"]:
            for ev in value["evidence"]:
                doc = docs[ev["doc_id"]]
                assert doc.text[ev["offset"]:ev["offset"] + len(ev["quote"])] == ev["quote"]


def test_facts_skip_other_species_and_off_topic_sections(real):
    docs, _ = real
    vendor = {(f.field, f.value, f.species) for f in extract_facts(docs[VENDOR])}
    assert ("chromosomal_location", "22q12.2", "human") in vendor
    assert not any(f[1].startswith("11") for f in vendor if f[0] == "chromosomal_location")  # the mouse 11qA1 is not a human band


def test_synthetic_conflicts_and_agreements():
    a = synthetic("a", "GENEQ gene\n\nNCBI Gene ID: 1234. UniProt: P12345. Chromosomal location: 7q31.2. It encodes a 300-amino acid protein.\n")
    b = synthetic("b", "GENEQ protein\n\nEntrez Gene 1235. UniProt ID: P12345. The human GENEQ gene lies on chromosome 7q31.1-q32. "
                       "The mouse ortholog lies on chromosome 6q12.\nIt encodes a 420-amino acid protein.\n")
    c = synthetic("c", "GENEQ again\n\nGene ID: 1234. The human gene sits at 7q35.\n")
    by_field = {x["field"]: x for x in find_conflicts([a, b, c])}
    assert "uniprot" not in by_field
    gene = by_field["ncbi_gene_id"]
    assert gene["status"] == "conflict" and {v["value"]: v["doc_ids"] for v in gene["values"]} == {"1234": ["a", "c"], "1235": ["b"]}
    assert by_field["protein_length_aa"]["status"] == "conflict"  # 120 aa is more than a signal peptide
    locus = by_field["chromosomal_location"]  # 7q31.2 inside 7q31.1-q32 is benign, 7q35 is not
    assert locus["status"] == "conflict" and "7q35" in {v["value"] for v in locus["values"]}
    assert not any(v["value"].startswith("6") for v in locus["values"])  # the mouse band is another species
    assert find_conflicts([a, synthetic("a2", "GENEQ\n\nNCBI Gene ID: 1234 and UniProt P12345.\n")]) == []
    one_page_two_genes = synthetic("p", "GENEQ and GENEZ\n\nGENEQ maps to 7q31.2 and GENEZ to 5q35; NCBI Gene ID: 1234, NCBI Gene ID: 99.\n")
    assert find_conflicts([one_page_two_genes]) == []  # one page naming two genes is not a conflict
