"""The columns a `FeatureBuilder` makes, block by block, in the fitted order: mutations,
mutation classes, hotspots, mutation signals, copy number, structural variants, pathways,
receptor status, whole-tumor summaries and the clinical context. A gene not on a sample's
panel, or not profiled for copy number, is NaN, never 0. A new kind of marker is one block
here, called from `_build`, with its name registered in `_knowledge/_feature_names`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._base._errors import CohortWarning, excerpt
from .._cohort._cohort import Cohort
from .._cohort._tables import isin
from .._knowledge._recipes import Recipes
from ._maf import MafIndex
from ._mutation_signals import mutant_dosage, spectrum
from ._status import receptor_status, tmb_from_mutations

__all__ = ["ColumnBlocksMixin"]


def _first_column(frame: pd.DataFrame, names: Sequence[str]) -> pd.Series | None:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return None


class ColumnBlocksMixin:
    """`FeatureBuilder`'s column blocks. Reads its settings (`include_sv`,
    `include_pathways`, `extra_clinical`), fitted vocabularies (`genes_`, `cna_genes_`,
    `sv_genes_`, `categories_`) and lookups (`_cached`, `_index`, `_names`, `_codes`,
    `_matched`)."""

    def _panel_mask(self, cohort: Cohort, samples: pd.Index, vocabulary: str,
                    profile: str) -> np.ndarray:
        """(n_samples, n_genes) bool: is the gene of `vocabulary` (a fitted gene list)
        measured on the sample's panel?

        A sample without a panel id is whole-exome/genome (cBioPortal's convention); a
        panel id with no gene list is inferred from the genes mutated on it.
        """
        panels = cohort.panel_ids(samples, profile)
        codes, uniques = pd.factorize(panels, use_na_sentinel=True)
        membership = np.zeros((len(uniques) + 1, len(getattr(self, vocabulary))), dtype=bool)
        membership[-1, :] = True  # code -1: no panel -> everything profiled
        for code, panel in enumerate(uniques):
            defined = cohort.panels.get(str(panel))
            if defined is None:
                on_panel = samples[codes == code]
                defined = set(cohort.mutations.loc[isin(cohort.mutations["SAMPLE_ID"], on_panel),
                                                   "Hugo_Symbol"])
                warnings.warn(f"gene panel {excerpt(panel)} has no gene list; its genes are "
                              f"inferred from the {len(defined)} genes mutated on it",
                              CohortWarning, stacklevel=4)
                positions = self._positions(vocabulary, defined)
            else:  # a panel's genes: looked up once per fit and gene list
                genes = frozenset(defined)
                positions = self._cached(("panel", vocabulary, genes),
                                         lambda genes=genes: self._positions(vocabulary, genes))
            membership[code, positions] = True
        return membership[codes]

    def _build(self, cohort: Cohort, recipes: Recipes) -> dict[str, np.ndarray]:
        """Every candidate feature column by name (float32, one value per sample), in the
        order of the steps below (the fitted feature order follows it)."""
        cols: dict[str, np.ndarray] = {}
        genes = self.genes_
        position: dict[str, int] = self._cached(  # scalar lookups: a dict
            ("position",), lambda: {gene: j for j, gene in enumerate(genes)})
        maf = MafIndex.of(cohort, self._index("genes_"), position, recipes)
        mut, on_panel, base = self._mutations(cohort, maf, cols)
        self._mutation_classes(maf, base, recipes, cols)
        self._hotspots(maf, base, recipes, cols)
        self._mutation_signals(cohort, maf, base, recipes, cols)
        amp, dele = self._copy_number(cohort, cols)
        sv = self._structural_variants(cohort, cols)
        if self.include_pathways:
            self._pathways(recipes, mut, amp, dele, sv, cols)
        self._clinical(cohort, recipes, mut, on_panel, cols)
        return cols

    def _mutations(self, cohort: Cohort, maf: MafIndex, cols: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`mut_<GENE>`: 1 mutated (a protein-altering class), 0 on the panel, NaN off it.
        Returns the (samples x genes) block, the panel mask and the 0/NaN base."""
        samples = cohort.samples.index
        measured = ("mutations" in cohort.profiles or not cohort.profiles)
        on_panel = (self._panel_mask(cohort, samples, "genes_", "mutations") if measured
                    else np.zeros((len(samples), len(self.genes_)), dtype=bool))
        base = np.where(on_panel, np.float32(0), np.float32(np.nan)).astype(np.float32)
        mut = base.copy()
        mut[maf.sample[maf.ok], maf.gene[maf.ok]] = 1.0
        cols.update(zip(self._names("mut_", "genes_"), mut.T, strict=True))
        return mut, on_panel, base

    def _mutation_classes(self, maf: MafIndex, base: np.ndarray, recipes: Recipes,
                          cols: dict[str, np.ndarray]) -> None:
        """`trunc_` / `missense_` of tumor suppressors, where the variant class is known."""
        known = maf.in_classes(recipes.known_classes)
        for gene in recipes.tumor_suppressors:
            j = maf.position.get(gene, -1)
            if j < 0:
                continue
            rows = maf.ok & (maf.gene == j)
            for label, classes in (("trunc", recipes.truncating), ("missense", recipes.missense)):
                column = base[:, j].copy()
                unknown_rows = rows & ~known
                column[maf.sample[unknown_rows]] = np.nan
                hit = rows & maf.in_classes(classes)
                column[maf.sample[hit]] = 1.0
                cols[f"{label}_{gene}"] = column

    def _hotspots(self, maf: MafIndex, base: np.ndarray, recipes: Recipes,
                  cols: dict[str, np.ndarray]) -> None:
        """`hotspot_<GENE>_<NAME>`, where the protein change is known."""
        protein = maf.protein_changes(recipes)
        for hs in recipes.hotspots:
            j = maf.position.get(hs.gene, -1)
            if j < 0:
                continue
            rows = maf.ok & (maf.gene == j)
            column = base[:, j].copy()
            no_change = rows & (protein == "")
            column[maf.sample[no_change]] = np.nan
            matches = np.fromiter((bool(hs.pattern.search(p)) for p in protein[rows]), bool,
                                  count=int(rows.sum()))
            column[maf.sample[rows][matches]] = 1.0
            cols[hs.feature] = column

    def _mutation_signals(self, cohort: Cohort, maf: MafIndex, base: np.ndarray,
                          recipes: Recipes, cols: dict[str, np.ndarray]) -> None:
        """The substitution spectrum and drivers' mutant dosage, where markers.toml enables
        them ([spectrum], [dosage]; `_mutation_signals`)."""
        if recipes.spectrum is not None and recipes.spectrum.enabled:
            cols.update(spectrum(maf.maf, maf.sample, len(cohort.samples), recipes.spectrum))
        if recipes.dosage is not None and recipes.dosage.enabled:
            purity = pd.to_numeric(cohort.clinical(recipes.dosage.purity_columns),
                                   errors="coerce").to_numpy(np.float64)
            purity = np.where(purity > 1, purity / 100, purity)  # percent or fraction
            cols.update(mutant_dosage(maf.maf, maf.sample, maf.ok, maf.gene, maf.position,
                                      base, purity, recipes.dosage, recipes.dosage.genes))

    def _copy_number(self, cohort: Cohort, cols: dict[str, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
        """`amp_` and `del_` per copy-number gene (NaN where not profiled)."""
        n = len(cohort.samples)
        amp = dele = np.full((n, 0), np.nan, dtype=np.float32)
        if not self.cna_genes_:
            return amp, dele
        samples = cohort.samples.index
        if cohort.cna is not None:
            cna = cohort.cna.reindex(index=samples, columns=self.cna_genes_).to_numpy(
                dtype=np.float32, na_value=np.nan, copy=True)
            cna[~self._panel_mask(cohort, samples, "cna_genes_", "cna")] = np.nan
        else:
            cna = np.full((n, len(self.cna_genes_)), np.nan, dtype=np.float32)
        missing = np.isnan(cna)
        amp = np.where(missing, np.nan, (cna >= 2).astype(np.float32)).astype(np.float32)
        dele = np.where(missing, np.nan, (cna <= -2).astype(np.float32)).astype(np.float32)
        for amp_name, del_name, amp_column, del_column in zip(
                self._names("amp_", "cna_genes_"), self._names("del_", "cna_genes_"),
                amp.T, dele.T, strict=True):  # gene by gene: the fitted column order
            cols[amp_name] = amp_column
            cols[del_name] = del_column
        return amp, dele

    def _structural_variants(self, cohort: Cohort, cols: dict[str, np.ndarray]) -> np.ndarray:
        """`sv_<GENE>`: the gene in a structural variant or fusion, on either side."""
        n = len(cohort.samples)
        if not (self.include_sv and self.sv_genes_):
            return np.full((n, 0), np.nan, dtype=np.float32)
        samples = cohort.samples.index
        if "sv" in cohort.profiles:
            sv = np.where(self._panel_mask(cohort, samples, "sv_genes_", "sv"),
                          np.float32(0), np.float32(np.nan)).astype(np.float32)
            sv_index = self._index("sv_genes_")
            events = cohort.structural_variants
            for site in ("Site1_Hugo_Symbol", "Site2_Hugo_Symbol"):
                si = samples.get_indexer(events["SAMPLE_ID"])
                gi = sv_index.get_indexer(events[site].astype(object))
                good = (si >= 0) & (gi >= 0)
                sv[si[good], gi[good]] = 1.0
        else:
            sv = np.full((n, len(self.sv_genes_)), np.nan, dtype=np.float32)
        cols.update(zip(self._names("sv_", "sv_genes_"), sv.T, strict=True))
        return sv

    def _pathways(self, recipes: Recipes, mut: np.ndarray, amp: np.ndarray,
                  dele: np.ndarray, sv: np.ndarray, cols: dict[str, np.ndarray]) -> None:
        """`path_<SET>`: altered if any member is (mutated, amplified oncogene, deleted tumor
        suppressor, rearranged); profiled if any member's mutation or copy number is."""
        n = len(mut)
        for gene_set in recipes.gene_sets:
            m, a, d, v = self._cached(("gene_set", gene_set), lambda gs=gene_set: (
                self._positions("genes_", gs.genes),
                self._positions("cna_genes_", gs.oncogenes),
                self._positions("cna_genes_", gs.tumor_suppressors),
                self._positions("sv_genes_", gs.genes) if sv.shape[1] else
                np.zeros(0, dtype=np.int64)))
            blocks = (mut[:, m], amp[:, a], dele[:, d])
            altered = np.zeros(n, dtype=bool)
            profiled = np.zeros(n, dtype=bool)
            for block in (*blocks, sv[:, v]):
                altered |= (block == 1).any(axis=1)
            for block in blocks:
                profiled |= (~np.isnan(block)).any(axis=1)
            path = np.where(altered, 1.0, np.where(profiled, 0.0, np.nan))
            cols[f"path_{gene_set.name}"] = path.astype(np.float32)

    def _clinical(self, cohort: Cohort, recipes: Recipes, mut: np.ndarray,
                  on_panel: np.ndarray, cols: dict[str, np.ndarray]) -> None:
        """Receptor status, whole-tumor summaries and the clinical context."""
        n = len(cohort.samples)
        # as the model spells it: receptor status and the type's code read the same name
        cancer_type = self._matched(cohort.clinical(recipes.cancer_type_columns), "cancer_type")
        for receptor in recipes.receptors:
            cols[f"status_{receptor.name}"] = receptor_status(cohort, receptor, cancer_type)
        for summary in recipes.summaries:
            values = _first_column(cohort.samples, summary.columns)
            column = (np.full(n, np.nan, np.float32) if values is None else
                      pd.to_numeric(values, errors="coerce").to_numpy(np.float32))
            if summary.name == "tmb" and values is None:
                column = tmb_from_mutations(mut, on_panel, recipes)
            cols[summary.name] = column
        cols["cancer_type"] = self._codes(cancer_type, "cancer_type")
        cols["subtype"] = self._codes(cohort.clinical(recipes.subtype_columns), "subtype")
        cols["primary_site"] = self._codes(
            cohort.clinical(recipes.primary_site_columns), "primary_site")
        sex = cohort.clinical(recipes.sex_columns)
        cols["sex"] = np.where(sex.isin(recipes.female), 1.0,
                               np.where(sex.isin(recipes.male), 0.0, np.nan)).astype(np.float32)
        age = cohort.clinical(recipes.age_columns)
        cols["age"] = pd.to_numeric(age, errors="coerce").to_numpy(np.float32)
        for column in self.extra_clinical:
            values = cohort.clinical([column])
            cols[f"extra_{column}"] = pd.to_numeric(values, errors="coerce").to_numpy(np.float32)

    def _positions(self, vocabulary: str, genes: Sequence[str]) -> np.ndarray:
        """Columns of `genes` within a fitted gene list (genes not in it are skipped)."""
        positions = self._index(vocabulary).get_indexer(list(genes))
        return positions[positions >= 0]
