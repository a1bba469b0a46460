"""Stage 1, the cohort: cBioPortal studies read strictly (tables, archives, meta files,
panels, downloads) into an immutable `Cohort`, the organ vocabulary and the labels and
populations read from a cohort. Imports only `_base`."""
