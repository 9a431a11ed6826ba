"""Tools for teachers: solve, grade and export the course's exercise notebooks.

Run ``python -m inception_edu.classroom --help``. The pieces, one idea per file:

- ``cells``: how an exercise cell is marked (metadata and tag) and found again;
- ``tagging``: add those marks to a course notebook (used by ``scripts/tag_exercises.py``);
- ``catalog``: which exercises a notebook has, with their points (the checkers' registry);
- ``solutions``: the reference solutions kept in ``solutions/``, outside the notebooks;
- ``verdicts``: the checkers' verdicts, read from a notebook's outputs;
- ``execute``: run a notebook headless in a fresh kernel, in a copy of its folder;
- ``solve``, ``grade``, ``nbgrader_export``: the three commands; ``gradebook`` writes grades.
"""
