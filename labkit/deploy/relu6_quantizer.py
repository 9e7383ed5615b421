"""The kit's int8 quantizer class: ExecuTorch's ``XNNPACKQuantizer`` that also quantizes conv → ReLU6 as one pattern.

Its own module because defining it imports executorch; :func:`labkit.deploy.quant.relu6_fusing_quantizer`
builds it with the kit's config (use that).
"""

from __future__ import annotations

import torch
from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer

from labkit.deploy.quant import annotate_conv_clamp
from labkit.errors import ParameterError


class ReLU6FusingXNNPACKQuantizer(XNNPACKQuantizer):
    """``XNNPACKQuantizer`` that quantizes conv → hardtanh as one pattern (global config only).

    Uses the quantizer's own extension point: :meth:`annotate` first annotates the conv (→ BatchNorm)
    → ReLU6 chains (:func:`labkit.deploy.quant.annotate_conv_clamp`), then the stock annotation does the rest.
    """

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        if self.module_name_config or self.module_type_config or self.operator_type_config:
            raise ParameterError("the ReLU6-fusing quantizer takes one global config (and a filter); "
                                 "per-module or per-operator configs are not supported")
        config = self.global_config
        if config is not None and not config.input_activation.is_dynamic:
            annotate_conv_clamp(model, config, self.filter_fn)
        return super().annotate(model)
