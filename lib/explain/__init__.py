"""Explanations and their scores, for any model: CAM methods of the grad-cam package, highlight
regions, pixel IoU, energy shares and localisation, and the figures of maps. It imports no model
family."""

# The name of Guided Grad-CAM among the CAM methods' names (lib.classification.sanity computes it);
# here, so that the claims ledger can name it without importing torch.
GUIDED = "guided gradcam"
