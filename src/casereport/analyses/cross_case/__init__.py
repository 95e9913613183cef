"""The cross-case comparison of the trials: QCA, the programme theory, the matrices and the
synthesis, with their claims and tables."""
