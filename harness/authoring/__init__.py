"""Tools for the authors of benchmarks and profiles: schemas, reference docs, drafts, diffs."""
