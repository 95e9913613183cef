"""`casereport diff`: what counts as a conclusion, the two sides compared (build folders or
git refs), the comparison command and its Markdown."""
