import numpy as np
import pytest

from tco import KaplanLaw, UnknownNameError, get_law
from tco.laws import PRESETS

CHINCHILLA_FORM = ["hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023"]


def test_presets_match_the_primer_and_cite_sources():
    expected = {
        "hoffmann2022": (1.69, 406.4, 410.7, 0.34, 0.28),
        "sardana2024": (1.69, 406.4, 410.7, 0.336, 0.283),
        "besiroglu2024": (1.8172, 482.01, 2085.43, 0.3478, 0.3658),
        "muennighoff2023": (1.87, 521.0, 1488.0, 0.353, 0.353),
    }
    for name, constants in expected.items():
        law = get_law(name)
        assert (law.E, law.A, law.B, law.alpha, law.beta) == constants
        assert "20" in law.source and "et al." in law.source
    kaplan = get_law("kaplan2020")
    assert isinstance(kaplan, KaplanLaw)
    assert (kaplan.alpha_n, kaplan.alpha_d, kaplan.n_c, kaplan.d_c) == (0.076, 0.103, 6.4e13, 1.8e13)


def test_unknown_law_lists_the_presets():
    with pytest.raises(UnknownNameError, match="sardana2024"):
        get_law("chinchilla3000")


@pytest.mark.parametrize("name", CHINCHILLA_FORM)
def test_allocate_matches_the_primer_closed_form(name):
    law = get_law(name)
    a, b, A, B = law.alpha, law.beta, law.A, law.B
    for flops in (1e20, 1e23, 1e26):
        g = (a * A / (b * B)) ** (1 / (a + b))
        n_expected = g * (flops / 6) ** (b / (a + b))
        d_expected = (flops / 6) ** (a / (a + b)) / g
        n, d = law.allocate(flops)
        assert n == pytest.approx(n_expected, rel=1e-12)
        assert d == pytest.approx(d_expected, rel=1e-12)
        assert 6 * n * d == pytest.approx(flops, rel=1e-12)
        assert law.compute_optimal_tokens(n) == pytest.approx(d, rel=1e-10)


@pytest.mark.parametrize("name", CHINCHILLA_FORM + ["kaplan2020"])
def test_allocation_minimizes_loss_on_the_isoflop_line(name):
    law = get_law(name)
    flops = 1e23
    n, d = law.allocate(flops)
    for factor in (0.9, 0.99, 1.01, 1.1):
        assert law.loss(n * factor, d / factor) > law.loss(n, d)


@pytest.mark.parametrize("name", CHINCHILLA_FORM + ["kaplan2020"])
def test_chinchilla_point_reaches_the_loss_with_least_compute(name):
    law = get_law(name)
    n, d = law.allocate(1e24)
    target = law.loss(n, d)
    n_c, d_c = law.chinchilla_point(target)
    # Equal-loss, compute-optimal point is the allocation of the same budget.
    assert n_c == pytest.approx(n, rel=1e-9)
    assert d_c == pytest.approx(d, rel=1e-9)
    assert law.loss(n_c, d_c) == pytest.approx(target, rel=1e-12)


def test_chinchilla_point_closed_form_of_the_primer():
    law = get_law("sardana2024")
    s = 1.947 - law.E
    n, d = law.chinchilla_point(1.947)
    assert n == pytest.approx((law.A * (1 + law.alpha / law.beta) / s) ** (1 / law.alpha), rel=1e-12)
    assert d == pytest.approx((law.B * (1 + law.beta / law.alpha) / s) ** (1 / law.beta), rel=1e-12)


def test_constraint_form_is_equivalent_to_the_loss():
    for name in CHINCHILLA_FORM + ["kaplan2020"]:
        law = get_law(name)
        target = law.loss(1e10, 1e12)
        c = law.constraint(target)
        assert c.a * 1e10 ** -c.p + c.b * 1e12 ** -c.q == pytest.approx(1.0, rel=1e-12)


def test_loss_at_or_below_irreducible_is_refused():
    law = get_law("hoffmann2022")
    for target in (1.69, 1.5):
        with pytest.raises(ValueError, match="irreducible"):
            law.constraint(target)


def test_kaplan_allocation_exponent():
    # With C = 6ND the joint form gives N ~ C^(1/(1 + aN/aD)) = C^0.575; Kaplan et al.'s 0.73 comes from their
    # separate L(N, S) analysis, which this joint form does not encode.
    law = get_law("kaplan2020")
    n1, _ = law.allocate(1e21)
    n2, _ = law.allocate(1e24)
    assert np.log(n2 / n1) / np.log(1e3) == pytest.approx(1 / (1 + 0.076 / 0.103), rel=1e-12)


def test_loss_is_vectorized():
    law = PRESETS["sardana2024"]
    values = law.loss(np.array([7e10, 7e10]), np.array([1e12, 2e12]))
    assert values.shape == (2,)
    assert values[0] == pytest.approx(1.94727, rel=1e-5)
