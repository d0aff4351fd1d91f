//! New files from minijinja templates: `retort init` and `retort revision`.
