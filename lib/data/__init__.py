"""The three datasets: the synthetic generators, building the sets (cached), reading them in the
study's layout, validating real ones, their cards, the shortcut check and the occluded test sets.
It imports only the study's machinery."""
