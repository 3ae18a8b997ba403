"""Explanations and their scores, for any model: CAM methods of the grad-cam package, highlight
regions, pixel IoU, energy shares and localisation, and the figures of maps. It imports no model
family."""
