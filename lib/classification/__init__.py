"""The classifiers: xu2024's ResNet50 droplet and surface classifiers, liu2023's DropKey and
Dropout attention heads on their backbone, their maps, and their robustness to perturbed inputs."""
