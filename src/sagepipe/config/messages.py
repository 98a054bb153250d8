"""Turn pydantic's validation errors into one readable :class:`ConfigError`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sagepipe.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from pydantic import BaseModel


class ConfigValidationError(ConfigError, ValueError):
    """A config has invalid fields. ``problems`` holds ``(field path, message)`` pairs."""

    def __init__(
        self,
        config_type: str,
        problems: list[tuple[str, str]],
        file: Path | None = None,
        step: str | None = None,
    ) -> None:
        self.config_type = config_type
        self.problems = problems
        self.file = file
        self.step = step
        where = []
        if file is not None:
            where.append(str(file))
        if step is not None:
            where.append(f"step {step!r}")
        location = (", ".join(where) + ": ") if where else ""
        details = "; ".join(f"{path}: {message}" for path, message in problems)
        super().__init__(f"{location}{config_type}: {details}")

    def located(self, file: Path | None, step: str | None) -> ConfigValidationError:
        """The same error, saying which file and step it came from."""
        return ConfigValidationError(self.config_type, self.problems, file, step)


def format_validation_error(exc: ValidationError, model: type[BaseModel]) -> ConfigValidationError:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = error["loc"]
        path = ".".join(str(part) for part in loc) or "(config)"
        problems.append((path, _message(error, model, loc)))
    return ConfigValidationError(model.__name__, problems)


def _message(error: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        field = str(loc[-1])
        known = _fields_at(model, loc[:-1])
        return f"unknown field{did_you_mean(field, known)}"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    # pydantic prefixes messages from our validators with "Value error, "; drop the noise.
    return message.removeprefix("Value error, ")


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            if isinstance(part, int):
                continue  # a list index: the location stays on the item's model
            return []
        current = _model_in(field.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    """The model class an annotation holds (``X``, ``X | None``, ``list[X]``), if any."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None
