"""extract_features: every downloaded photo through an ImageNet-pretrained CNN into one feature vector.

The originals fed their caption LSTMs CaffeNet / VGG-19 ``fc7`` (4096-d). Here a torchvision backbone
(:mod:`neta.features.backbones`) with its own ImageNet weights, checked by SHA-256 and loaded offline
(:mod:`neta.features.weights`), turns the images of a manifest or folder (:mod:`neta.features.inputs`)
into ``/features (N,D)`` and ``/image_ids (N,)`` in HDF5 (:mod:`neta.features.extract`), decoded by
DataLoader workers (:mod:`neta.features.loader`) and run by eager torch or onnxruntime
(:mod:`neta.features.engines`, :mod:`neta.features.onnx_export`).
"""
