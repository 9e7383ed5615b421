"""The models and the images they see: the registry, EfficientNet-Lite0, photos, labelled sets, preprocessing."""
