//! Tables, charts, Markdown and HTML reports: consumers of plain structs only.
