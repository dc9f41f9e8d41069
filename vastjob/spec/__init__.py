"""Job specs: YAML with positions, `extends` and `--set`, schema and rule validation, the typed model."""

from vastjob.spec.load import check_file, load_job
from vastjob.spec.model import JobSpec, parse_duration

__all__ = ["JobSpec", "check_file", "load_job", "parse_duration"]
