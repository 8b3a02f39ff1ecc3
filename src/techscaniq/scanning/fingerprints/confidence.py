"""How sure a detection is: how strong its evidence is and how much of it there is.

Wappalyzer's rule, kept: every matched pattern adds its `\\;confidence:N` (100 when untagged), and a
technology's confidence is the sum, capped at 100. So a generator tag or the product's own file (untagged
patterns) makes a detection certain, a hint the fingerprint author tagged weak (`\\;confidence:25`, a bare
file name) needs corroboration, and several weak hints add up.

An implication is weaker than any of those: the page shows WordPress, not PHP or MySQL. An implied
technology adds half of what Wappalyzer gives it (the lower of the implying technology's confidence and the
`implies` tag's), so PHP implied by a certain WordPress is 50, PHP implied by a detection of 50 is 25 (weak
for the change detector's noise control until seen again, changes/policy.py min_confidence), and PHP shown by
its own header stays 100. Evidence in another host's URL is not counted at all (foreign.py).
"""

from __future__ import annotations

CERTAIN = 100
# An implied technology gets this share of what the implication would give it in Wappalyzer.
IMPLIED_SHARE = 0.5


def added(confidence: int, evidence: int) -> int:
    """The confidence after one more piece of evidence of weight `evidence`."""
    return min(CERTAIN, confidence + evidence)


def implied(implying: int, relation: int) -> int:
    """What an implication adds: half of the lower of the implying detection's and the `implies` tag's."""
    return round(min(implying, relation) * IMPLIED_SHARE)
