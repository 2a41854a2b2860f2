"""Mixture-of-experts physics: how many parameters a replica holds and a decode step reads, per ACTIVE parameter.

With E experts of which each token uses top_k, the optimizer's N is the active parameter count (training and
inference FLOPs follow it unchanged: 6 N D, 2 N per token). Memory follows the TOTAL count, and a decode step
reads only the experts its batch touches. Both are constant multiples of N for fixed E, top_k and batch, so
every cost and cap stays a monomial in N and each E remains a geometric program.

The architecture is Ludziejewski et al. 2025's (arXiv 2502.05172, section 3): per block, attention holds 4 d^2
parameters shared by all tokens and each expert is a full-size feed-forward of 9 d^2, so (their memory relation,
tests/data/moe_ludziejewski2025.json) N_act = 2 d v + 13 n_blocks d^2 at top-1 and N_total = 2 d v
+ (4 + 9 E) n_blocks d^2. Generalized to top_k experts per token and leaving out the embeddings 2 d v (a few
percent of a billion-parameter model, and not a monomial in N):

    N_act   = (4 + 9 k) n_blocks d^2          shared 4 / (4 + 9 k) of N_act, one expert 9 / (4 + 9 k) of N_act
    N_total = (4 + 9 E) n_blocks d^2  =>  N_total / N_act = (4 + 9 E) / (4 + 9 k)

A dense model (E = k = 1) has ratio 1 and reads every weight at any batch.
"""

from __future__ import annotations

import numpy as np

from .serving import weight_bytes_per_param

__all__ = ["SHARED_D2", "EXPERT_D2", "total_per_active", "expected_touched_experts", "read_per_active",
           "resident_bytes_per_param", "read_bytes_per_param"]

#: Parameters per block in units of d^2 (Ludziejewski et al. 2025): attention (shared) and one expert's FFN.
SHARED_D2 = 4.0
EXPERT_D2 = 9.0


def total_per_active(experts, top_k):
    """N_total / N_act = (4 + 9 E) / (4 + 9 k): the weights a replica holds per active parameter."""
    return (SHARED_D2 + EXPERT_D2 * experts) / (SHARED_D2 + EXPERT_D2 * top_k)


def expected_touched_experts(experts, top_k, batch):
    """Expected distinct experts per layer that `batch` tokens touch when each routes uniformly to top_k of E:
    an expert is missed by one token with probability 1 - k/E, by all b independently with (1 - k/E)^b, so the
    expectation is E (1 - (1 - k/E)^b). It is k at b = 1 and tends to E as the batch grows."""
    experts = np.asarray(experts, dtype=float)
    value = experts * (1.0 - (1.0 - np.asarray(top_k, dtype=float) / experts) ** np.asarray(batch, dtype=float))
    return float(value) if np.ndim(value) == 0 else value


def read_per_active(experts, top_k, batch):
    """Weight parameters one decode step of `batch` sequences reads, per active parameter: the shared weights
    plus the touched experts, (4 + 9 touched) / (4 + 9 k). 1 at batch 1 (one token reads exactly its active
    weights), total_per_active for a batch that touches every expert."""
    touched = expected_touched_experts(experts, top_k, batch)
    return (SHARED_D2 + EXPERT_D2 * touched) / (SHARED_D2 + EXPERT_D2 * top_k)


def resident_bytes_per_param(serving):
    """Weight bytes a replica holds per (active) parameter N: every expert, N_total / N_act of them at the
    serving width (the width alone for a dense model). Memory fit and a replica's weights use it."""
    arch = serving.architecture
    return weight_bytes_per_param(serving) * total_per_active(arch.experts_in_force, arch.top_k)


def read_bytes_per_param(serving, tokens):
    """Weight bytes one forward step of `tokens` tokens reads per (active) parameter N: the shared weights and
    the experts those tokens touch (`read_per_active`; the width alone for a dense model). The decode roofline
    reads it at the batch, the first token at the prompt's tokens."""
    arch = serving.architecture
    return weight_bytes_per_param(serving) * read_per_active(arch.experts_in_force, arch.top_k, tokens)
