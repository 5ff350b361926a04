"""The rule catalogue; every module below registers its rules on import."""
