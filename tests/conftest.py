"""Small cBioPortal studies written by the tests themselves, and shared fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

# the tests' own per-user cache (TreeSHAP tables, the cohort index): never the user's
if "ORGANO_PREDICT_CACHE_DIR" not in os.environ:
    import atexit
    import tempfile

    os.environ["ORGANO_PREDICT_CACHE_DIR"] = tempfile.mkdtemp(prefix="organo-predict-tests-")
    atexit.register(shutil.rmtree, os.environ["ORGANO_PREDICT_CACHE_DIR"], ignore_errors=True)


def require_program(program: str, install_hint: str) -> str:
    """The path of `program`, or skip the test; with ORGANO_PREDICT_STRICT_TESTS=1 (set by
    .ci/run, which installs what is missing) a missing program fails the test instead."""
    found = program if Path(program).is_file() else shutil.which(program)
    if found:
        return found
    message = f"{program} not found ({install_hint})"
    if os.environ.get("ORGANO_PREDICT_STRICT_TESTS"):
        pytest.fail(message)
    pytest.skip(message + "; set ORGANO_PREDICT_STRICT_TESTS=1 to fail instead")

PATIENT_HEADER = (
    "#Patient Identifier\tSex\tAge at Sequencing\n"
    "#Patient id\tSex\tAge\n"
    "#STRING\tSTRING\tNUMBER\n"
    "#1\t1\t1\n"
    "PATIENT_ID\tSEX\tAGE_AT_SEQUENCING\n"
)
SAMPLE_COLUMNS = ["PATIENT_ID", "SAMPLE_ID", "CANCER_TYPE", "SUBTYPE_ABBREVIATION", "SAMPLE_TYPE",
                  "METASTATIC_SITE", "GENE_PANEL", "TMB_NONSYNONYMOUS",
                  "FRACTION_GENOME_ALTERED", "METASTATIC_PATIENT", "DMETS_DX_LIVER",
                  "DMETS_DX_BONE", "DMETS_DX_CNS_BRAIN"]
SAMPLES = [
    ["P1", "S1", "Non-Small Cell Lung Cancer", "LUAD", "Primary", "NA", "IMPACT341", "5.1",
     "0.2", "Yes", "No", "Yes", "Yes"],
    ["P2", "S2", "Non-Small Cell Lung Cancer", "LUAD", "Metastasis", "Liver", "IMPACT468",
     "3.0", "0.1", "Yes", "Yes", "No", "No"],
    ["P3", "S3", "Breast Cancer", "IDC HR+HER2-", "Primary", "NA", "IMPACT468", "1.0", "0.3",
     "Yes", "No", "Yes", "No"],
    ["P4", "S4", "Colorectal Cancer", "CRC MSS", "Primary", "NA", "IMPACT410", "8.0", "0.4",
     "No", "No", "No", "No"],
]
MAF_COLUMNS = ["Hugo_Symbol", "Entrez_Gene_Id", "Tumor_Sample_Barcode", "Variant_Classification",
               "HGVSp_Short"]
MUTATIONS = [
    ["EGFR", "1956", "S1", "Missense_Mutation", "p.L858R"],
    ["KRAS", "3845", "S2", "Missense_Mutation", "p.G12C"],
    ["TP53", "7157", "S2", "Nonsense_Mutation", "p.R213*"],
    ["PIK3CA", "5290", "S3", "Missense_Mutation", "p.H1047R"],
    ["CXCR4", "7852", "S3", "Missense_Mutation", "p.S338*"],
    ["APC", "324", "S4", "Frame_Shift_Del", "p.T1556fs"],
    ["KRAS", "3845", "S4", "Silent", "p.G12="],
    ["TERT", "7015", "S4", "5'Flank", ""],
]
CNA = {"Hugo_Symbol": ["EGFR", "MET", "ERBB2", "PTEN"],
       "S1": ["2", "0", "0", "0"], "S2": ["0", "2", "0", "-2"],
       "S3": ["0", "0", "2", "0"], "S4": ["0", "0", "0", "NA"]}
PANELS = {
    "IMPACT341": ["EGFR", "KRAS", "TP53", "PIK3CA", "APC", "TERT", "MET", "ERBB2", "PTEN", "ALK",
                  "ESR1"],
    "IMPACT410": ["EGFR", "KRAS", "TP53", "PIK3CA", "APC", "TERT", "MET", "ERBB2", "PTEN", "ALK",
                  "ESR1", "CXCR4"],
    "IMPACT468": ["EGFR", "KRAS", "TP53", "PIK3CA", "APC", "TERT", "MET", "ERBB2", "PTEN", "ALK",
                  "ESR1", "CXCR4", "STK11"],
}


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(r) + "\n" for r in rows)


def write_study(root: Path) -> Path:
    """Write a valid 4-patient study into `root` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta_study.txt").write_text(
        "type_of_cancer: mixed\ncancer_study_identifier: tiny_study\nname: Tiny\n")
    meta = {
        "meta_clinical_patient.txt": "CLINICAL\ndatatype: PATIENT_ATTRIBUTES\ndata_filename: "
                                     "data_clinical_patient.txt",
        "meta_clinical_sample.txt": "CLINICAL\ndatatype: SAMPLE_ATTRIBUTES\ndata_filename: "
                                    "data_clinical_sample.txt",
        "meta_mutations.txt": "MUTATION_EXTENDED\ndatatype: MAF\ndata_filename: "
                              "data_mutations.txt",
        "meta_cna.txt": "COPY_NUMBER_ALTERATION\ndatatype: DISCRETE\ndata_filename: data_cna.txt",
        "meta_sv.txt": "STRUCTURAL_VARIANT\ndatatype: SV\ndata_filename: data_sv.txt",
        "meta_gene_panel_matrix.txt": "GENE_PANEL_MATRIX\ndatatype: GENE_PANEL_MATRIX\n"
                                      "data_filename: data_gene_panel_matrix.txt",
    }
    for name, body in meta.items():
        (root / name).write_text(f"cancer_study_identifier: tiny_study\n"
                                 f"genetic_alteration_type: {body}\n")
    (root / "data_clinical_patient.txt").write_text(PATIENT_HEADER + _tsv(
        [["P1", "Male", "61"], ["P2", "Female", "55"], ["P3", "Female", "48"],
         ["P4", "Male", "70"]]))
    n = len(SAMPLE_COLUMNS)
    (root / "data_clinical_sample.txt").write_text(
        "#" + "\t".join(SAMPLE_COLUMNS) + "\n#" + "\t".join(SAMPLE_COLUMNS) + "\n#"
        + "\t".join(["STRING"] * 7 + ["NUMBER"] * 2 + ["STRING"] * (n - 9)) + "\n#"
        + "\t".join(["1"] * n) + "\n" + _tsv([SAMPLE_COLUMNS, *SAMPLES]))
    (root / "data_mutations.txt").write_text(_tsv([MAF_COLUMNS, *MUTATIONS]))
    samples = ["S1", "S2", "S3", "S4"]
    (root / "data_cna.txt").write_text(_tsv(
        [["Hugo_Symbol", *samples]]
        + [[g, *(CNA[s][i] for s in samples)] for i, g in enumerate(CNA["Hugo_Symbol"])]))
    (root / "data_sv.txt").write_text(_tsv([
        ["Sample_ID", "Site1_Hugo_Symbol", "Site2_Hugo_Symbol", "Event_Info"],
        ["S1", "EML4", "ALK", "EML4-ALK fusion"]]))
    (root / "data_gene_panel_matrix.txt").write_text(_tsv(
        [["SAMPLE_ID", "mutations", "cna"]]
        + [[s[1], s[6], s[6]] for s in SAMPLES]))
    panels = root / "gene_panels"
    panels.mkdir(exist_ok=True)
    for panel, genes in PANELS.items():
        (panels / f"data_gene_panel_{panel.lower()}.txt").write_text(
            f"stable_id: {panel}\ndescription: test\ngene_list: {chr(9).join(genes)}\n")
    return root


@pytest.fixture
def tiny_study(tmp_path: Path) -> Path:
    """A valid 4-patient study folder."""
    return write_study(tmp_path / "tiny_study")


@pytest.fixture
def edit(tiny_study: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """Rewrite one file of the tiny study through a text transform."""

    def _edit(name: str, transform: Callable[[str], str]) -> Path:
        path = tiny_study / name
        path.write_text(transform(path.read_text()))
        return tiny_study

    return _edit


@pytest.fixture(scope="session")
def msk_features():
    """The embedded cohort and its features (built once per test session)."""
    import warnings

    import organo_predict as op
    from organo_predict import FeatureBuilder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", op.UnknownGeneWarning)
        cohort = op.datasets.msk_met()
    return cohort, FeatureBuilder().fit_transform(cohort)


@pytest.fixture(scope="session")
def luad_model(msk_features):
    """A three-organ model (brain, bone, liver) on all metastatic lung adenocarcinomas plus
    3,000 other patients of the embedded cohort: (builder, model, features)."""
    import numpy as np

    from organo_predict import FeatureBuilder, OrganotropismModel, labels_from_samples

    organs = ["CNS_BRAIN", "BONE", "LIVER"]
    cohort, features = msk_features
    builder = FeatureBuilder().fit(cohort)
    labels = labels_from_samples(cohort.samples)[organs]
    metastatic = (cohort.samples["METASTATIC_PATIENT"] == "Yes").to_numpy()
    rows = metastatic & labels.notna().all(axis=1).to_numpy()
    luad = (cohort.samples["SUBTYPE_ABBREVIATION"] == "LUAD").to_numpy() & rows
    rng = np.random.default_rng(0)
    others = np.flatnonzero(rows & ~luad)
    keep = np.zeros(len(rows), dtype=bool)
    keep[luad] = True
    keep[rng.choice(others, 3000, replace=False)] = True
    x, y = features[keep], labels[keep]
    model = OrganotropismModel(organs=organs, random_state=0,  # as the experiment reads them
                               missing_as_type_median=("tmb", "fga", "aneuploidy")).fit(x, y)
    return builder, model, x


@pytest.fixture(scope="session")
def with_intervals(luad_model):
    """The LUAD fixture model carrying intervals fitted on its own probabilities (a test
    of the plumbing, not of calibration)."""
    builder, model, x = luad_model
    import numpy as np
    import pandas as pd

    from organo_predict import ProbabilityIntervals

    rng = np.random.default_rng(0)
    proba = model.predict_proba(x)
    y = pd.DataFrame(rng.random(proba.shape) < proba.to_numpy(), columns=proba.columns,
                     index=proba.index).astype(float)
    intervals = ProbabilityIntervals().fit(proba, y, model.cancer_type_codes(x))
    return builder, model.with_intervals(intervals), x


@pytest.fixture(scope="session")
def liver_lung_bone(msk_features):
    """A three-organ model (liver, lung, bone) on the first 4,000 labelled patients of the
    embedded cohort: (builder, model, features of those patients)."""
    import numpy as np

    from organo_predict import FeatureBuilder, OrganotropismModel, labels_from_samples

    organs = ["LIVER", "LUNG", "BONE"]
    cohort, features = msk_features
    builder = FeatureBuilder().fit(cohort)
    labels = labels_from_samples(cohort.samples)[organs]
    rows = np.flatnonzero(labels.notna().all(axis=1).to_numpy())[:4000]
    model = OrganotropismModel(organs=organs, random_state=0).fit(features.iloc[rows],
                                                                 labels.iloc[rows])
    return builder, model, features.iloc[rows]


def write_planted_study(root: Path, n: int = 3000, brain_odds_ratio: float = 4.0,
                        seed: int = 0) -> Path:
    """A synthetic lung adenocarcinoma study with planted genetics: EGFR mutated in 25%,
    KRAS in 40% of the EGFR-wild-type (never both), TP53 in 40% independently. Brain
    metastasis: rate 0.15, odds x `brain_odds_ratio` for EGFR carriers; KRAS and TP53 have
    no effect of their own (KRAS lowers brain only through the EGFR it excludes)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    write_study(root)  # meta files and panels; the data files are replaced below
    egfr = rng.random(n) < 0.25
    kras = ~egfr & (rng.random(n) < 0.40)
    tp53 = rng.random(n) < 0.40
    odds = 0.15 / 0.85 * np.where(egfr, brain_odds_ratio, 1.0)
    brain = rng.random(n) < odds / (1 + odds)
    liver, bone = rng.random(n) < 0.3, rng.random(n) < 0.35

    def yes(flag: bool, *_: str) -> str:
        return "Yes" if flag else "No"

    ids = [f"S{i}" for i in range(n)]
    (root / "data_clinical_patient.txt").write_text(PATIENT_HEADER + _tsv(
        [[f"P{i}", ["Male", "Female"][i % 2], str(40 + i % 40)] for i in range(n)]))
    samples = [[f"P{i}", ids[i], "Non-Small Cell Lung Cancer", "LUAD", "Primary", "NA",
                "IMPACT468", f"{rng.gamma(2.0, 3.0):.2f}", f"{rng.random() * 0.5:.3f}", "Yes",
                yes(liver[i], "Yes", "No"), yes(bone[i], "Yes", "No"),
                yes(brain[i], "Yes", "No")] for i in range(n)]
    k = len(SAMPLE_COLUMNS)
    (root / "data_clinical_sample.txt").write_text(
        "#" + "\t".join(SAMPLE_COLUMNS) + "\n#" + "\t".join(SAMPLE_COLUMNS) + "\n#"
        + "\t".join(["STRING"] * 7 + ["NUMBER"] * 2 + ["STRING"] * (k - 9)) + "\n#"
        + "\t".join(["1"] * k) + "\n" + _tsv([SAMPLE_COLUMNS, *samples]))
    mutations = ([["EGFR", "1956", ids[i], "Missense_Mutation", "p.L858R"]
                  for i in np.flatnonzero(egfr)]
                 + [["KRAS", "3845", ids[i], "Missense_Mutation", "p.G12C"]
                    for i in np.flatnonzero(kras)]
                 + [["TP53", "7157", ids[i], "Nonsense_Mutation", "p.R213*"]
                    for i in np.flatnonzero(tp53)])
    (root / "data_mutations.txt").write_text(_tsv([MAF_COLUMNS, *mutations]))
    (root / "data_cna.txt").write_text(_tsv([["Hugo_Symbol", *ids],
                                             ["EGFR", *["0"] * n], ["MET", *["0"] * n]]))
    (root / "data_sv.txt").write_text(_tsv([
        ["Sample_ID", "Site1_Hugo_Symbol", "Site2_Hugo_Symbol", "Event_Info"]]))
    (root / "data_gene_panel_matrix.txt").write_text(_tsv(
        [["SAMPLE_ID", "mutations", "cna"], *[[s, "IMPACT468", "IMPACT468"] for s in ids]]))
    return root


OWN_PANEL_GENES = ["EGFR", "KRAS", "TP53", "STK11", "KEAP1", "PIK3CA", "PTEN", "BRAF", "ALK",
                   "MET", "ERBB2", "CDKN2A", "RB1", "SMAD4", "APC", "ARID1A", "NF1", "ATM",
                   "BRCA1", "BRCA2", "CTNNB1", "FGFR1", "FGFR2", "FGFR3", "IDH1", "IDH2",
                   "KIT", "MYC", "NRAS", "HRAS", "MDM2", "CDK4", "CCND1", "ESR1", "AR",
                   "GATA3", "CDH1", "FBXW7", "NOTCH1", "SMARCA4", "RBM10", "NKX2-1", "RET",
                   "ROS1", "NTRK1", "MAP2K1", "SETD2", "BAP1", "PBRM1", "VHL"]


def write_own_study(root: Path, n: int = 1500, seed: int = 1,
                    brain_odds_ratio: float = 4.0) -> Path:
    """Another institution's study, as researchers bring them: the planted genetics of
    `write_planted_study`, sequenced on a 50-gene panel ("OWN50") that the study names but
    does not define, with the organ flags as EVER_MET_SITE_BONE/BRAIN/LIVER = 1/0 patient
    attributes and no DMETS_DX_ columns (write the panel's genes with `own_panel_file`)."""
    write_planted_study(root, n=n, brain_odds_ratio=brain_odds_ratio, seed=seed)
    samples = (root / "data_clinical_sample.txt").read_text().splitlines()
    header = samples[4].split("\t")
    keep = [i for i, c in enumerate(header) if not c.startswith("DMETS_DX_")]
    flags = {c: i for i, c in enumerate(header) if c.startswith("DMETS_DX_")}
    rows = [line.split("\t") for line in samples[5:]]
    cut = [[cells[i] for i in keep] for cells in (line.split("\t") for line in samples[:5])]
    for cells in cut[:4]:
        cells[0] = cells[0] if cells[0].startswith("#") else "#" + cells[0]
    (root / "data_clinical_sample.txt").write_text(
        "".join("\t".join(c) + "\n" for c in cut)
        + "".join("\t".join(r[i] for i in keep) + "\n" for r in rows))
    organ_of = {"DMETS_DX_BONE": "EVER_MET_SITE_BONE", "DMETS_DX_CNS_BRAIN": "EVER_MET_SITE_BRAIN",
                "DMETS_DX_LIVER": "EVER_MET_SITE_LIVER"}
    names = list(organ_of.values())
    patient_rows = (root / "data_clinical_patient.txt").read_text().splitlines()[5:]
    (root / "data_clinical_patient.txt").write_text(
        "#Patient Identifier\tSex\tAge at Sequencing\t" + "\t".join(names) + "\n"
        "#Patient id\tSex\tAge\t" + "\t".join(names) + "\n"
        "#STRING\tSTRING\tNUMBER\t" + "\t".join(["NUMBER"] * 3) + "\n"
        "#1\t1\t1\t1\t1\t1\n"
        "PATIENT_ID\tSEX\tAGE_AT_SEQUENCING\t" + "\t".join(names) + "\n"
        + "".join(line + "\t" + "\t".join("1" if rows[i][flags[c]] == "Yes" else "0"
                                          for c in organ_of) + "\n"
                  for i, line in enumerate(patient_rows)))
    ids = [r[header.index("SAMPLE_ID")] for r in rows]
    (root / "data_gene_panel_matrix.txt").write_text(_tsv(
        [["SAMPLE_ID", "mutations", "cna"], *[[s, "OWN50", "OWN50"] for s in ids]]))
    text = (root / "data_clinical_sample.txt").read_text().replace("\tIMPACT468\t", "\tOWN50\t")
    (root / "data_clinical_sample.txt").write_text(text)
    for panel in (root / "gene_panels").glob("*.txt"):
        panel.unlink()
    return root


def own_panel_file(path: Path) -> Path:
    """The OWN50 panel as one gene per line, with a comment."""
    path.write_text("# OWN50: the 50 genes of the study's own panel\n"
                    + "".join(f"{g}\n" for g in OWN_PANEL_GENES))
    return path
