"""dgfas: a benchmark for domain-generalized face anti-spoofing.

Its layers; a module imports only from its own layer and those listed before it:

    errors, atomic, config, registry, ...  one-line errors, atomic writes, typed configs, name registries
    data/, protocols/, presets.py          a dataset (data/registry.py) and its frames; a protocol (TOML -> roles)
    models/, algorithms/                   a backbone; a method (one file: its losses, update and predict)
    metrics.py, metric_names.py, scores.py a metric and its logged name; score files;
    selection.py                           model-selection and threshold rules
    run.py, trainer.py, evaluation.py,     a run: resolve it (run), train it (trainer), score it (evaluation),
    training_state.py, data/batches.py     checkpoint it (training_state), draw its batches (data/batches)
    benchmark.py, sweep.py, launchers.py   many runs; submission.py, submitted_scores.py: scores made elsewhere
    tracking/                              a run's record (record, tracked_run, stored_runs); a table (leaderboard)
    cli/                                   one module per ``dgfas`` subcommand
"""

__version__ = "0.1.0"
