from vastjob.spec.model import JobSpec, parse_duration

__all__ = ["JobSpec", "parse_duration"]
