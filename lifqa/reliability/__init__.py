"""Source reliability: flags with evidence, and a tier from the flags.

The package runs in two places. At build, once per document: ``structure`` analyses the
document (sections, reference list, citation keys, off-topic runs); ``flags`` judges the
source, ``passages`` each of its chunks and ``facts`` extracts what cross-source conflicts
compare, all from that one analysis. The index stores the results. At query time only
``tiers`` runs (the names of tiers and flag kinds, and why flags earn a tier), which is all
this ``__init__`` imports, so opening an engine never loads the rules.
"""

from lifqa.reliability.tiers import FLAG_KINDS, SEVERITIES, TIERS, check_flag_kinds, explain_tier

__all__ = ["FLAG_KINDS", "SEVERITIES", "TIERS", "check_flag_kinds", "explain_tier"]
