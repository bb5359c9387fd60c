"""IBSI-exact radiomics: the image-processing chain and one module per feature family."""
