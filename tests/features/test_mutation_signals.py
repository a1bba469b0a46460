"""The substitution spectrum and mutant dosage from MAF rows, purity and read counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict._features._mutation_signals import mutant_dosage, spectrum
from organo_predict._knowledge._schemas import Dosage, Spectrum

CITED = {"rationale": "test", "citation": "test"}


def test_the_spectrum_names_each_substitution_by_its_pyrimidine_and_shares_compare() -> None:
    """Sample 0: two C>T (one written G>A), one T>G, a CC>TT doublet and an indel, of 5 rows;
    sample 1 has too few substitutions; sample 2 none."""
    maf = pd.DataFrame({"Reference_Allele": ["C", "G", "T", "CC", "-", "A"],
                        "Tumor_Seq_Allele2": ["T", "A", "G", "TT", "A", "C"]})
    sample = np.array([0, 0, 0, 0, 0, 1])
    out = spectrum(maf, sample, 3, Spectrum(enabled=True, min_substitutions=3, **CITED))
    assert out["sbs_C_T"][0] == pytest.approx(2 / 3) and out["sbs_T_G"][0] == pytest.approx(1 / 3)
    assert out["sbs_C_A"][0] == 0
    assert out["dbs_CC_TT"][0] == pytest.approx(1 / 5) and out["indel_share"][0] == pytest.approx(1 / 5)
    assert np.isnan(out["sbs_T_G"][1]) and np.isnan(out["indel_share"][2])
    # no allele columns (a profile sent to the endpoint): unknown, not zero
    assert all(np.isnan(v).all() for v in spectrum(maf[[]], sample, 3, Spectrum(enabled=True, min_substitutions=3, **CITED)).values())


def test_a_mutant_allele_above_half_the_purity_is_a_high_dosage_carrier() -> None:
    """Purity 60%: one mutant copy of two gives VAF ~30%. 55 of 100 reads is more than one
    copy; 28 of 100 is one; a row with 10 reads cannot tell; unknown purity is NaN."""
    maf = pd.DataFrame({"t_alt_count": [55, 28, 5, 40], "t_ref_count": [45, 72, 5, 60]})
    sample = np.array([0, 1, 2, 3])
    ok = np.ones(4, dtype=bool)
    gene = np.zeros(4, dtype=int)
    base = np.zeros((5, 1), dtype=np.float32)  # sample 4: profiled, not mutated
    purity = np.array([0.6, 0.6, 0.6, np.nan, 0.6])
    rule = Dosage(enabled=True, genes=["KRAS"], purity_columns=["TUMOR_PURITY"], min_depth=50,
                  alpha=0.01, **CITED)
    column = mutant_dosage(maf, sample, ok, gene, {"KRAS": 0}, base, purity, rule,
                           ["KRAS", "TP53"])
    assert list(column) == ["dosage_KRAS"]  # TP53 is not in the vocabulary
    np.testing.assert_array_equal(column["dosage_KRAS"], [1, 0, np.nan, np.nan, 0])


def test_dosage_from_a_purity_that_encodes_the_biopsy_site_is_refused_by_the_audit() -> None:
    """Purity and allele fractions depend on where the sample was taken: here a liver
    biopsy (of a liver metastasis) has purity 20%, any other 80%, and every sample carries
    one KRAS mutation at 35% allele fraction. Dosage then names the biopsy site, so the
    label; the leakage audit refuses it. With purity unrelated to the site it passes."""
    from organo_predict import audit_leakage

    rng = np.random.default_rng(0)
    n = 2000
    liver = rng.random(n) < 0.3
    maf = pd.DataFrame({"t_alt_count": np.full(n, 35), "t_ref_count": np.full(n, 65)})
    rule = Dosage(enabled=True, genes=["KRAS"], purity_columns=["TUMOR_PURITY"], min_depth=50,
                  alpha=0.01, **CITED)
    labels = pd.DataFrame({"DMETS_DX_LIVER": liver.astype(float)})

    def dosage(purity: np.ndarray) -> pd.DataFrame:
        column = mutant_dosage(maf, np.arange(n), np.ones(n, bool), np.zeros(n, int),
                               {"KRAS": 0}, np.zeros((n, 1), np.float32), purity, rule,
                               ["KRAS"])["dosage_KRAS"]
        return pd.DataFrame({"dosage_KRAS": column, "tmb": rng.gamma(2.0, 3.0, n)})

    leaky = audit_leakage(dosage(np.where(liver, 0.2, 0.8)), labels)
    assert "dosage_KRAS" in leaky.refused_features and "tmb" not in leaky.refused_features
    honest = audit_leakage(dosage(rng.choice([0.2, 0.8], n)), labels)
    assert honest.refused_features == []


def test_blanking_the_biopsy_site_and_sample_type_changes_no_feature(msk_features,
                                                                    monkeypatch) -> None:
    """The hidden leak probe, with every mutation signal switched on: the columns that
    reveal the label (where the sample was taken, primary or metastasis) are not inputs of
    any feature, the spectrum and dosage included, so blanking them changes nothing."""
    from dataclasses import replace

    from organo_predict import FeatureBuilder
    from organo_predict._features import _builder
    from organo_predict._knowledge._recipes import load_recipes

    shipped = load_recipes()
    everything = replace(shipped, markers=shipped.markers.model_copy(update={
        "spectrum": shipped.spectrum.model_copy(update={"enabled": True}),
        "dosage": shipped.dosage.model_copy(update={"enabled": True})}))
    monkeypatch.setattr(_builder, "load_recipes", lambda: everything)
    cohort = msk_features[0]
    cohort = cohort.subset(cohort.samples.index[:3000])
    builder = FeatureBuilder().fit(cohort)
    assert {"sbs_C_T", "indel_share", "dosage_KRAS", "dosage_TP53"} <= set(
        builder.feature_names_)
    blanked = replace(cohort, samples=cohort.samples.assign(METASTATIC_SITE=None,
                                                            SAMPLE_TYPE=None))
    pd.testing.assert_frame_equal(builder.transform(cohort), builder.transform(blanked))
