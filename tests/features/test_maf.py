"""The mutation table located once: rows to samples and genes, protein-altering classes."""

from __future__ import annotations

import pandas as pd

from organo_predict import load_study
from organo_predict._features._maf import MafIndex, lookup
from organo_predict._knowledge._recipes import load_recipes


def test_lookup_factorizes_before_it_looks_up() -> None:
    index = pd.Index(["S1", "S2"])
    assert lookup(pd.Series(["S2", "S9", "S1", "S2"]), index).tolist() == [1, -1, 0, 1]


def test_rows_that_count_and_protein_changes(tiny_study) -> None:
    cohort = load_study(tiny_study)
    genes = pd.Index(["EGFR", "KRAS", "TP53", "PIK3CA", "APC", "TERT"])
    maf = MafIndex.of(cohort, genes, {g: j for j, g in enumerate(genes)}, load_recipes())
    counted = set(zip(maf.sample[maf.ok].tolist(), genes[maf.gene[maf.ok]], strict=True))
    assert (3, "KRAS") not in counted  # the silent KRAS G12= of S4 does not count
    assert (0, "EGFR") in counted and (3, "APC") in counted
    protein = maf.protein_changes(load_recipes())
    assert "L858R" in protein.tolist() and "G12C" in protein.tolist()


def _rows(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Variant_Classification", "Reference_Allele",
                                       "Tumor_Seq_Allele2"])


def test_an_unclassed_indel_gets_the_class_its_allele_lengths_imply() -> None:
    from organo_predict._features._maf import effective_classes

    rule = load_recipes().allele_length_classes
    maf = _rows(("Unknown", "-", "A"), ("Unknown", "AT", "-"), ("Unknown", "ATG", "-"),
                ("", "-", "AAAAAA"), ("Unknown", "ACG", "T"), ("Unknown", "G", "A"),
                ("Nonsense_Mutation", "CA", "-"), ("Unknown", "CC", "TT"))
    classes, inferred = effective_classes(maf, rule)
    assert classes.tolist() == ["Frame_Shift_Ins", "Frame_Shift_Del", "In_Frame_Del",
                                "In_Frame_Ins", "Frame_Shift_Del",  # a delins of -2
                                "Unknown",  # a substitution: its consequence needs the codon
                                "Nonsense_Mutation",  # the file's class is kept
                                "Unknown"]  # a doublet substitution likewise
    assert inferred.tolist() == [True] * 5 + [False] * 3
    # without the allele columns (a profile sent to the endpoint) nothing is inferred
    classes, inferred = effective_classes(maf[["Variant_Classification"]], rule)
    assert classes.tolist() == maf["Variant_Classification"].tolist() and not inferred.any()


def test_coverage_says_how_many_rows_have_a_class_from_the_file_and_inferred() -> None:
    from organo_predict._features._maf import class_coverage

    coverage = class_coverage(_rows(("Missense_Mutation", "G", "A"), ("Unknown", "-", "A"),
                                    ("Unknown", "G", "T"), ("Unknown", "G", "C")),
                              load_recipes())
    assert (coverage.rows, coverage.from_file, coverage.inferred) == (4, 1, 1)
    assert coverage.sentence() == ("variant class known for 50% of 4 mutation rows: 25% in "
                                   "the file, 25% inferred from allele lengths")


def test_a_frameshift_without_a_class_makes_the_gene_truncated_not_unknown(edit) -> None:
    """An APC row with no class but a 1-base deletion reads as truncating; a substitution
    with no class leaves the flag unknown (NaN), as before."""
    from organo_predict import FeatureBuilder

    def with_alleles(text: str) -> str:
        lines = text.splitlines()
        out = [lines[0] + "\tReference_Allele\tTumor_Seq_Allele2"]
        out += [line + "\tG\tA" for line in lines[1:]]
        out.append("APC\t324\tS1\tUnknown\t\tGA\tG")  # S1: 1-base deletion, no class
        out.append("APC\t324\tS3\tUnknown\t\tG\tT")  # S3: a substitution, no class
        return "\n".join(out) + "\n"

    cohort = load_study(edit("data_mutations.txt", with_alleles))
    x = FeatureBuilder(min_carriers=1).fit_transform(cohort)
    assert x.loc["S1", "trunc_APC"] == 1
    assert pd.isna(x.loc["S3", "trunc_APC"])
    assert x.loc["S4", "trunc_APC"] == 1  # the file's Frame_Shift_Del, unchanged


def test_on_the_embedded_cohort_the_rule_agrees_with_the_file_where_the_file_knows(
        msk_features) -> None:
    """A fully annotated study simulated: the annotated indels' classes hidden, inferred
    from their alleles, and compared with what the file says."""
    import numpy as np

    from organo_predict._features._maf import effective_classes

    recipes = load_recipes()
    maf = msk_features[0].mutations
    known = ~maf["Variant_Classification"].isin(["Unknown", ""]).to_numpy()
    hidden = maf[known].assign(Variant_Classification="Unknown")
    classes, inferred = effective_classes(hidden, recipes.allele_length_classes)
    truth = maf["Variant_Classification"].to_numpy()[known][inferred]
    truncating = list(recipes.truncating)
    agree = np.isin(classes[inferred], truncating) == np.isin(truth, truncating)
    assert inferred.sum() > 10_000 and agree.mean() > 0.95
    assert (classes[inferred] == truth).mean() > 0.85
