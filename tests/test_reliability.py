"""Reliability flags and tiers: on the real corpus, on synthetic documents
written here, and through the engine and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lifqa.chunking import chunk_document
from lifqa.decoding import decode_file
from lifqa.errors import CorpusError, InputError
from lifqa.readers.text import make_document
from lifqa.reliability import FLAG_KINDS, TIERS, explain_tier
from lifqa.reliability.facts import find_conflicts
from lifqa.reliability.flags import assess_document, assess_sources
from lifqa.reliability.passages import chunk_flags
from lifqa.reliability.structure import analyse_document
from lifqa.sources import read_sources
from lifqa.types import Flag

ROOT = Path(__file__).resolve().parent.parent

# Document ids of the bundled corpus, by what the curator says they are.
WIKI_MIRROR, VENDOR, SCIDEX, REVIEW, LAY = (
    "000_b2d3b1681d340735", "001_ccf4759c050e6e97", "002_ce8a4941deb8f87d", "003_53c253cf74dd5c0b", "004_292eedc639d57db9")


@pytest.fixture(scope="module")
def real():
    docs = {d.doc_id: d for d in read_sources(ROOT / "corpus").documents}
    conflicts = find_conflicts(docs.values())
    return docs, assess_sources(docs.values(), conflicts), conflicts


def assert_evidence(doc, flag: Flag) -> None:
    """Every flag quotes what triggered it: text at its offset, the raw file, or a metadata field."""
    assert flag.kind in FLAG_KINDS and flag.severity in ("info", "low", "medium", "high") and flag.reason
    assert flag.evidence, f"{doc.doc_id}: {flag.kind} has no evidence"
    if flag.evidence.startswith("metadata:"):
        assert flag.offset is None and flag.evidence.split(":", 1)[1] in doc.metadata
    elif flag.offset is None:  # removed by normalisation: must be in the raw source file
        raw, _ = decode_file(Path(doc.source_path))
        assert flag.evidence in raw, f"{doc.doc_id}: {flag.evidence!r} is not in the raw file"
    else:
        assert doc.text[flag.offset:flag.offset + len(flag.evidence)] == flag.evidence


def kinds(assessment) -> set[str]:
    return {f.kind for f in assessment.flags}


def quotes(assessment, kind: str) -> str:
    return " | ".join(f.evidence for f in assessment.flags if f.kind == kind)


# ---------------------------------------------------------------- real corpus
def test_every_real_flag_has_verifiable_evidence(real):
    docs, assessed, _ = real
    assert set(assessed) == set(docs)
    for doc_id, assessment in assessed.items():
        assert assessment.flags, doc_id
        for flag in assessment.flags:
            assert_evidence(docs[doc_id], flag)


def test_real_corpus_flags_and_tiers(real):
    _, a, _ = real
    assert {"encyclopedia", "no_references", "conflicting_facts", "extraction_noise"} <= kinds(a[WIKI_MIRROR])
    assert "GNU Free Documentation License" in quotes(a[WIKI_MIRROR], "encyclopedia")
    assert not {"ai_generated", "commercial", "cites_sources"} & kinds(a[WIKI_MIRROR])

    assert {"ai_generated", "commercial", "no_references", "extraction_noise"} <= kinds(a[VENDOR])
    assert "AI-compiled" in quotes(a[VENDOR], "ai_generated")
    assert "Explore our product portfolio" in quotes(a[VENDOR], "commercial")
    assert "Brand Mission" in quotes(a[VENDOR], "commercial")

    assert {"off_topic_content", "unverifiable_references", "encyclopedia", "conflicting_facts", "extraction_noise"} <= kinds(a[SCIDEX])
    assert "5-HT2A" in quotes(a[SCIDEX], "off_topic_content")
    off_topic = next(f for f in a[SCIDEX].flags if f.kind == "off_topic_content")
    assert "LIF" in off_topic.reason and "Expression Pattern" in off_topic.reason
    assert "M. K. B. L. et al." in quotes(a[SCIDEX], "unverifiable_references")
    assert "[@turnley2004]" in quotes(a[SCIDEX], "unverifiable_references")
    assert "cites_sources" not in kinds(a[SCIDEX])
    assert any("repeated block" in f.reason and f.evidence.startswith("LIF — Leukemia Inhibitory Factor\nIntroduction")
               for f in a[SCIDEX].flags if f.kind == "extraction_noise")

    assert "cites_sources" in kinds(a[REVIEW])
    assert not [f for f in a[REVIEW].flags if f.severity in ("medium", "high")]

    assert {"ai_generated", "not_peer_reviewed", "lay_summary"} <= kinds(a[LAY])
    assert "not been peer-reviewed" in quotes(a[LAY], "not_peer_reviewed")
    assert "explained simply" in quotes(a[LAY], "lay_summary")
    assert "commercial" not in kinds(a[LAY])

    assert {d: a[d].tier for d in a} == {WIKI_MIRROR: "medium", VENDOR: "low", SCIDEX: "low", REVIEW: "high", LAY: "low"}
    assert a[VENDOR].reasons and "low" in a[VENDOR].reasons[-1]


def test_conflicting_facts_flags_only_real_conflicts(real):
    _, assessed, _ = real
    assert "conflicting_facts" not in kinds(assessed[VENDOR])  # its length and locus differences are benign readings
    assert {f.evidence for f in assessed[SCIDEX].flags if f.kind == "conflicting_facts"} == {"NCBI Gene ID: 3977", "OMIM ID: 159446"}


# ---------------------------------------------------------------- synthetic documents
VENDOR_PAGE = """Recombinant IL-2 Protein, Human

Interleukin-2 is a cytokine that drives T cell proliferation. Our recombinant protein is expressed in E. coli.

About Us
BioCorp Inc. is a trusted partner for scientists. Our mission is to accelerate discovery with reliable reagents.

Order Information
Catalog Number: BC-1002
Buy now and get free shipping on orders over $500.
"""
PREPRINT_NOTE = """Loss of GENEX impairs wound healing in zebrafish

This manuscript is a preprint posted on bioRxiv and has not been peer reviewed.

We knocked out GENEX in zebrafish and observed delayed fin regeneration in 24 of 30 larvae.
"""
REVIEW_WITH_DOIS = """TP53 in cancer

Overview
TP53 encodes the tumour suppressor p53, which arrests the cell cycle after DNA damage (Vogelstein2000Surfing). Mutations in TP53 occur in about half of human cancers [2]. Its partner MDM2 degrades it (Smith2001Missing).

References
1. (Vogelstein2000Surfing) Bert Vogelstein, David Lane and Arnold J. Levine. Surfing the p53 network. Nature, 408(6810):307-310, 2000. doi:10.1038/35042675
2. (Lane1992Cancer) David P. Lane. p53, guardian of the genome. Nature, 358(6381):15-16, 1992. doi:10.1038/358015a0
"""
DRIFTING_PAGE = """BRCA1 — Breast cancer type 1 susceptibility protein

Overview
BRCA1 is a tumour suppressor that repairs double-strand DNA breaks by homologous recombination. BRCA1 forms a complex with BARD1.

Function
BRCA1 is recruited to breaks and promotes end resection. Loss of BRCA1 causes genomic instability.

Expression Pattern
EGFR is expressed in epithelial tissues. EGFR levels rise in many carcinomas.

Signalling
EGFR activates the RAS-MAPK pathway after ligand binding. EGFR inhibitors such as gefitinib block this signal. Mutant EGFR is a drug target.
"""
ENCYCLOPEDIA_PAGE = """Myoglobin

Myoglobin is an iron- and oxygen-binding protein found in the cardiac and skeletal muscle tissue of vertebrates.

Text is available under the Creative Commons Attribution-ShareAlike License; additional terms may apply. This page was last edited on 3 May 2024.
"""
LAY_SUMMARY = """How your gut bacteria talk to your brain, explained simply

Imagine your gut is a busy city with trillions of residents. Think of the bacteria as tiny postal workers sending letters to the brain. In a nutshell, a happy gut may mean a happier mind.
"""
AI_NOTE = """Notes on insulin

This summary was generated by ChatGPT from public sources. Insulin lowers blood glucose by promoting uptake into muscle and fat.
"""
UNVERIFIABLE = """GDNF in Parkinson disease

GDNF protects dopaminergic neurons in rodent models. [@smith2010]

Key Publications
[1] A. B. et al., "GDNF rescues neurons," Neurology Today, 2009.
[2] C. D. E. et al., "GDNF trials," Brain Letters, 2012.
"""


def synthetic(name: str, text: str, **meta):
    return make_document(f"{name}.txt", text, meta)


@pytest.mark.parametrize("text, kind, phrase, not_kinds", [
    (VENDOR_PAGE, "commercial", "Buy now", {"ai_generated", "encyclopedia", "lay_summary"}),
    (PREPRINT_NOTE, "not_peer_reviewed", "has not been peer reviewed", {"commercial", "ai_generated"}),
    (ENCYCLOPEDIA_PAGE, "encyclopedia", "Creative Commons Attribution-ShareAlike", {"commercial", "lay_summary"}),
    (LAY_SUMMARY, "lay_summary", "explained simply", {"commercial", "not_peer_reviewed"}),
    (AI_NOTE, "ai_generated", "generated by ChatGPT", {"commercial", "lay_summary"}),
    (REVIEW_WITH_DOIS, "cites_sources", "doi:10.1038/35042675", {"no_references", "commercial", "off_topic_content"}),
    (UNVERIFIABLE, "unverifiable_references", "A. B. et al.", {"cites_sources"}),
    (DRIFTING_PAGE, "off_topic_content", "EGFR", {"commercial", "encyclopedia"}),
])
def test_rules_on_synthetic_documents(text, kind, phrase, not_kinds):
    doc = synthetic("doc", text)
    assessment = assess_document(doc)
    assert kind in kinds(assessment), assessment.flags
    assert phrase in quotes(assessment, kind)
    assert not (not_kinds & kinds(assessment)), assessment.flags
    for flag in assessment.flags:
        assert_evidence(doc, flag)


def test_off_topic_names_subject_and_intruder():
    flag = next(f for f in assess_document(synthetic("drift", DRIFTING_PAGE)).flags if f.kind == "off_topic_content")
    assert "BRCA1" in flag.reason and "EGFR" in flag.reason and "Signalling" in flag.reason


def test_sections_that_name_the_subject_are_not_off_topic():
    page = DRIFTING_PAGE.replace("EGFR is expressed", "BRCA1 is expressed").replace("drug target.", "drug target that binds BRCA1.")
    assert "off_topic_content" not in kinds(assess_document(synthetic("ok", page)))


def test_dangling_and_unverifiable_references_are_reported():
    a = assess_document(synthetic("refs", UNVERIFIABLE))
    reasons = " ".join(f.reason for f in a.flags if f.kind == "unverifiable_references")
    assert "initials only" in reasons and "[@smith2010]" in quotes(a, "unverifiable_references")
    cited_without_list = synthetic("ay", "Insulin\n\nInsulin lowers blood glucose (Banting et al., 1922). " * 30)
    assert "(Banting et al., 1922)" in quotes(assess_document(cited_without_list), "unverifiable_references")
    assert "no_references" not in kinds(assess_document(cited_without_list))


def test_passage_flags_resolve_keys_and_mark_off_topic_passages():
    review = synthetic("review", REVIEW_WITH_DOIS)
    flags = [f for flags in chunk_flags(chunk_document(review, 2000, 0), review, analyse_document(review)) for f in flags]
    positive = [f for f in flags if f.kind == "cites_sources"]
    assert any("doi:10.1038/35042675" in f.reason and f.evidence == "(Vogelstein2000Surfing)" for f in positive)
    assert any(f.evidence == "[2]" and "doi:10.1038/358015a0" in f.reason for f in positive)
    assert any(f.kind == "unverifiable_references" and f.evidence == "(Smith2001Missing)" for f in flags)
    for flag in flags:
        assert_evidence(review, flag)

    drift = synthetic("drift", DRIFTING_PAGE)
    chunks = chunk_document(drift, 200, 0)
    by_section = {c.section: flags for c, flags in zip(chunks, chunk_flags(chunks, drift, analyse_document(drift)))}
    assert any(f.kind == "off_topic_content" for f in by_section["Signalling"])
    assert not any(f.kind == "off_topic_content" for f in by_section["Function"])


def test_noise_is_quoted_from_the_raw_file(tmp_path):
    block = "<p>Gene card</p>\n<table><tr><td>Symbol</td><td>ABC1</td></tr><tr><td>Location</td><td>3p21.3</td></tr><tr><td>Aliases</td><td>ABC-one, ABCX, ATP-binding cassette one</td></tr></table>\n"
    raw = ("<div>Skip to content</div>\n" + block + block
           + "<p>ABC1 is a transporter found in the liver and the kidney of many vertebrates.</p>\n<iframe src='x'></iframe>")
    path = tmp_path / "noisy.html"
    path.write_text(raw, encoding="utf-8")
    doc = make_document("noisy.html", raw, {}, source_path=str(path))
    noise = [f for f in assess_document(doc).flags if f.kind == "extraction_noise"]
    assert {"page chrome", "repeated block", "embedded markup"} <= {w for f in noise for w in ("page chrome", "repeated block", "embedded markup") if w in f.reason}
    for flag in noise:
        assert_evidence(doc, flag)


def test_no_flags_on_a_short_neutral_note_gives_unknown_tier():
    a = assess_document(synthetic("note", "Calcium ions bind calmodulin."))
    assert a.flags == () and a.tier == "unknown"


def test_tier_rule_is_explained():
    flag = lambda kind, severity: Flag(kind, severity, "r", "metadata:doc_type")  # noqa: E731
    assert explain_tier([])[0] == "high"
    assert explain_tier([flag("commercial", "high")])[0] == "medium"
    assert explain_tier([flag("commercial", "high"), flag("ai_generated", "high")])[0] == "low"
    assert explain_tier([flag("cites_sources", "info"), flag("no_references", "medium")])[0] == "high"
    tier, reasons = explain_tier([flag("cites_sources", "info"), flag("not_peer_reviewed", "medium")])
    assert tier == "medium" and any("at most medium" in r for r in reasons)
    assert explain_tier([flag("extraction_noise", "low")])[0] == "high"
    assert set(TIERS) == {"high", "medium", "low", "unknown"}


def test_doc_type_metadata_adds_a_flag_when_text_rules_find_none():
    a = assess_document(synthetic("w", "Some gene\n\nA short page about a gene.\n", doc_type="wiki"))
    assert [(f.kind, f.evidence) for f in a.flags] == [("encyclopedia", "metadata:doc_type")]


def test_curator_overrides_add_and_suppress_with_reasons():
    doc = synthetic("wiki", ENCYCLOPEDIA_PAGE,
                    suppress_flags=[{"kind": "encyclopedia", "reason": "expert-curated page"}],
                    flags=[{"kind": "ai_generated", "reason": "the publisher confirmed it", "quote": "Myoglobin is an iron"}])
    a = assess_document(doc)
    assert "encyclopedia" not in kinds(a)
    override = next(f for f in a.flags if f.kind == "curator_override")
    assert "expert-curated page" in override.reason and override.evidence == "metadata:suppress_flags"
    added = next(f for f in a.flags if f.kind == "ai_generated")
    assert added.reason == "curator: the publisher confirmed it" and added.severity == "high"
    assert_evidence(doc, added)


@pytest.mark.parametrize("meta, message", [
    ({"flags": [{"kind": "made_up", "reason": "x"}]}, "valid kinds: ai_generated"),
    ({"flags": [{"kind": "commercial"}]}, "give a 'reason'"),
    ({"suppress_flags": "encyclopedia"}, "must be a list of tables"),
    ({"flags": [{"kind": "commercial", "reason": "x", "severity": "huge"}]}, "use one of info, low, medium, high"),
    ({"flags": [{"kind": "commercial", "reason": "x", "quote": "not in the text"}]}, "does not occur in the document"),
    ({"suppress_flags": [{"kind": "commercial", "reason": "x", "extra": 1}]}, "unknown field(s) extra"),
])
def test_bad_overrides_are_clear_errors(meta, message):
    with pytest.raises(CorpusError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        assess_document(synthetic("bad", VENDOR_PAGE, **meta))
    assert "bad.txt" in str(info.value)


# ---------------------------------------------------------------- engine and CLI
QUESTION = "What is the NCBI Gene ID of LIF?"


def test_citations_carry_tier_and_flags_and_the_answer_its_conflicts(engine):
    answer = engine.ask(QUESTION)
    out = answer.to_dict()
    tiers = {r.document.doc_id: r.tier for r in engine.sources()}
    for citation in out["citations"]:
        assert citation["tier"] == tiers[citation["doc_id"]] and citation["flags"]
        assert all({"kind", "severity", "reason", "evidence", "offset"} <= set(f) for f in citation["flags"])
    assert not answer.abstained
    fields = {c["field"]: c for c in answer.conflicts}
    assert fields["ncbi_gene_id"]["status"] == "conflict"
    assert {v["value"] for v in fields["ncbi_gene_id"]["values"]} == {"3976", "3977"}
    cited = [(c.doc_id, c.char_start, c.char_end) for c in answer.citations if any(c.key in s.citation_keys for s in answer.sentences)]
    for conflict in answer.conflicts:  # attached only when a cited passage states the fact
        assert any(ev["doc_id"] == d and a <= ev["offset"] < b for v in conflict["values"] for ev in v["evidence"] for d, a, b in cited)


def test_exclude_and_min_tier_remove_sources(engine):
    flags = {r.document.doc_id: {f.kind for f in r.flags} for r in engine.sources()}
    tiers = {r.document.doc_id: r.tier for r in engine.sources()}
    question = "What does LIF do in embryonic stem cells?"
    everything = {h.chunk.doc_id for h in engine.search(question, k=15)}
    assert any(flags[d] & {"ai_generated", "commercial"} for d in everything)
    kept = engine.search(question, k=15, exclude_flags=["ai_generated", "commercial"])
    assert kept and not any(flags[h.chunk.doc_id] & {"ai_generated", "commercial"} for h in kept)
    answer = engine.ask(question, exclude_flags=["ai_generated", "commercial"])
    assert not any(flags[c.doc_id] & {"ai_generated", "commercial"} for c in answer.citations)
    assert {tiers[h.chunk.doc_id] for h in engine.search(question, k=15, min_tier="medium")} <= {"high", "medium"}
    assert {h.chunk.doc_id for h in engine.search(question, k=15, min_tier="high")} == {REVIEW}


def test_unknown_flag_kind_or_tier_is_a_clear_error(engine):
    with pytest.raises(InputError, match="unknown flag kind.*ai_generatd.*Valid kinds: ai_generated"):
        engine.search("What is LIF?", exclude_flags=["ai_generatd"])
    with pytest.raises(InputError, match="Valid tiers: high, medium, low"):
        engine.search("What is LIF?", min_tier="excellent")


def test_reliability_weighting_down_weights_low_tiers(engine, lif_index):
    from lifqa.engine import Engine
    from lifqa.search.searcher import TIER_WEIGHT

    weighted = Engine.open(lif_index, reliability_weighting=True)
    question = "Which receptor does LIF bind?"
    plain_hits = engine.search(question, k=8)
    hits = weighted.search(question, k=8)
    tiers = {r.document.doc_id: r.tier for r in engine.sources()}
    for hit in plain_hits:
        assert hit.score == pytest.approx(hit.rerank)
    for hit in hits:
        assert hit.score == pytest.approx(hit.rerank * TIER_WEIGHT[tiers[hit.chunk.doc_id]], rel=1e-5)
    assert any(tiers[h.chunk.doc_id] == "low" for h in hits)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lifqa.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_sources_and_conflicts_json(lif_index):
    result = run_cli("sources", "--json", "--index", str(lif_index))
    assert result.returncode == 0, result.stderr
    sources = {s["doc_id"]: s for s in json.loads(result.stdout)}
    assert sources[REVIEW]["tier"] == "high" and sources[VENDOR]["tier"] == "low"
    assert sources[VENDOR]["tier_reasons"] and all(f["evidence"] for s in sources.values() for f in s["flags"])
    assert "ai_generated" in {f["kind"] for f in sources[VENDOR]["flags"]}

    result = run_cli("conflicts", "--json", "--index", str(lif_index))
    assert result.returncode == 0, result.stderr
    conflicts = {c["field"]: c for c in json.loads(result.stdout)}
    assert conflicts["omim"]["status"] == "conflict" and conflicts["protein_length_aa"]["status"] == "benign"

    text = run_cli("conflicts", "--index", str(lif_index)).stdout
    assert "OMIM number [conflict]" in text and "OMIM 159540" in text and "precursor" in text
