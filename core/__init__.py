"""The small Dagster-free core every layer may import (and that imports none of them).

It holds what `expectations/`, `assets/`, `reports/` and `pipelines/` share:
the server database connection, and (issue 14) the contract, labels, policy,
calendar and masking helpers. Nothing here imports Dagster, GX or another
package of this project.
"""
