"""Reference solutions of notebook 05's exercises (for teachers, and for the checkers' tests)."""


import reference_solutions

# The answers the notebooks' reference solutions give (solutions/), loaded rather than copied.
_notebook_05 = reference_solutions.load("05")
smoothing_for_confidence = _notebook_05.smoothing_for_confidence
temperature_for_confidence = _notebook_05.temperature_for_confidence
expected_calibration_error = _notebook_05.expected_calibration_error
supported_statements = _notebook_05.supported_statements


