"""The command-line JSON contract of issue 4, spelled out literally (other tools rely on it)."""

#: fields of every ``benchmarks[NAME]`` entry of ``codbayes predict --json``
JSON_FIELDS = frozenset(
    {
        "mean",
        "median",
        "sd",
        "q05",
        "q25",
        "q75",
        "q95",
        "n_items",
        "n_clusters",
        "n_extrapolatable",
        "subset_fraction",
    }
)
