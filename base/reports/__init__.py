"""Reports against the campaign targets: xlsx, csv, Markdown and charts, in the reader's language."""
