"""Settings defined once: a dataclass field carries its default, help text (with units) and bounds.

`setting(default, help, low=..., high=..., above=..., choices=...)` makes a
dataclass field whose metadata holds everything a command-line flag, a
validation and the flag table of docs/flags.md need. `define_flags` turns the fields
of such dataclasses into absl flags with validators from the same bounds,
`check` validates an instance with the same messages, and `markdown_table`
renders the fields as the flag table of docs/flags.md (a test keeps them equal).
"""

import dataclasses
import math
import typing

UNSET = "unset"  # How an Optional field's None default is shown.


class SettingError(ValueError):
    """A setting out of range; the message is one line naming the flag and its bounds."""


def setting(default, help, *, low=None, high=None, above=None, choices=None, shown=None,
            alias=None):
    """A dataclass field with its help text and bounds.

    Args:
      default: the default value (None for "unset", resolved by the owner).
      help: one sentence, with units (e.g. "global agent steps, summed over threads").
      low / high: inclusive bounds; above: an exclusive lower bound.
      choices: the allowed strings.
      shown: how docs/flags.md shows the default, when the plain value would mislead.
      alias: another flag name for the same setting.
    """
    return dataclasses.field(default=default, metadata=dict(
        help=help, low=low, high=high, above=above, choices=choices, shown=shown, alias=alias))


def _rule(meta):
    """The bound of a setting in words, e.g. 'must be in [0, 1]', or None."""
    low, high, above, choices = meta["low"], meta["high"], meta["above"], meta["choices"]
    if choices is not None:
        return f"must be one of {', '.join(choices)}"
    if low is not None and high is not None:
        return f"must be in [{low:g}, {high:g}]"
    if low is not None:
        return f"must be >= {low:g}"
    if above is not None:
        return f"must be > {above:g}"
    if high is not None:
        return f"must be <= {high:g}"
    return None


def bound_message(name, meta):
    """The one-line rule of a bounded setting, e.g. '--gamma must be in [0, 1]', or None."""
    rule = _rule(meta)
    return None if rule is None else f"--{name} {rule}"


def is_finite(value):
    """False for a NaN or infinite float (no setting takes one), True for anything else."""
    return not isinstance(value, float) or math.isfinite(value)


def in_bounds(value, meta):
    """True if `value` satisfies the field's bounds (None, an unset optional, always does)."""
    if value is None:
        return True
    if not is_finite(value):
        return False
    if meta["choices"] is not None and value not in meta["choices"]:
        return False
    if meta["low"] is not None and value < meta["low"]:
        return False
    if meta["high"] is not None and value > meta["high"]:
        return False
    if meta["above"] is not None and value <= meta["above"]:
        return False
    return True


def check(instance):
    """Raises SettingError (one line) for the first field of `instance` out of its bounds."""
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if not is_finite(value):
            raise SettingError(f"--{field.name} {value!r}: must be a finite number")
        if not in_bounds(value, field.metadata):
            raise SettingError(f"--{field.name} {value!r}: {_rule(field.metadata)}")


def _base_type(field, hints):
    kind = hints[field.name]
    if typing.get_origin(kind) is typing.Union:  # Optional[X]
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    return kind


def define_flags(settings_class, module_name, flag_values=None):
    """Defines one absl flag per field of `settings_class`, with validators from its bounds.

    `module_name` is the module --help lists the flags under (the script's).
    Returns {field name: FlagHolder}.
    """
    from absl import flags

    if flag_values is None:
        flag_values = flags.FLAGS
    hints = typing.get_type_hints(settings_class)
    holders = {}
    for field in dataclasses.fields(settings_class):
        meta, kind = field.metadata, _base_type(field, hints)
        args = dict(name=field.name, default=field.default, help=meta["help"],
                    flag_values=flag_values, module_name=module_name)
        if meta["choices"] is not None:
            holder = flags.DEFINE_enum(enum_values=list(meta["choices"]), **args)
        elif kind is bool:
            holder = flags.DEFINE_bool(**args)
        elif kind is int:
            holder = flags.DEFINE_integer(**args)
        elif kind is float:
            holder = flags.DEFINE_float(**args)
        else:
            holder = flags.DEFINE_string(**args)
        if kind is float:  # absl parses "nan" and "inf"; no setting takes them
            flags.register_validator(holder, lambda v: v is None or is_finite(v),
                                     message=f"--{field.name} must be a finite number",
                                     flag_values=flag_values)
        message = bound_message(field.name, meta)
        if message and meta["choices"] is None:
            flags.register_validator(holder, lambda v, m=meta: in_bounds(v, m), message=message,
                                     flag_values=flag_values)
        if meta["alias"]:
            flags.DEFINE_alias(meta["alias"], field.name, flag_values=flag_values,
                               module_name=module_name)
        holders[field.name] = holder
    return holders


def from_flags(settings_class, holders, **overrides):
    """An instance of `settings_class` from parsed flag holders (overrides win)."""
    values = {name: holders[name].value for name in holders
              if name in {f.name for f in dataclasses.fields(settings_class)}}
    values.update(overrides)
    return settings_class(**values)


def from_flagfile(settings_class, path, **overrides):
    """An instance of `settings_class` from the flags a flagfile sets (others at their
    defaults; overrides win). A flag the class does not define, a bad value or a missing
    file raises absl's flags.Error."""
    from absl import flags

    flag_values = flags.FlagValues()
    holders = define_flags(settings_class, "flagfile", flag_values)
    flag_values(["flagfile", f"--flagfile={path}"])
    return from_flags(settings_class, holders, **overrides)


def _shown_default(field):
    if field.metadata["shown"] is not None:
        return field.metadata["shown"]
    value = field.default
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`"


def markdown_table(*settings_classes):
    """The flag table of docs/flags.md: flag, default, meaning (the help text itself)."""
    lines = ["| flag | default | meaning and unit |", "|---|---|---|"]
    for cls in settings_classes:
        for field in dataclasses.fields(cls):
            name = f"`--{field.name}`"
            if field.metadata["alias"]:
                name += f" (`--{field.metadata['alias']}`)"
            text = field.metadata["help"].replace("|", "\\|")
            lines.append(f"| {name} | {_shown_default(field)} | {text} |")
    return "\n".join(lines)
