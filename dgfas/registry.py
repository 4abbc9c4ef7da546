"""One registry per extension point: datasets, protocols, models, algorithms, selection rules."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from dgfas.errors import DgfasError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table filled by a decorator.

    Duplicates are refused so that two modules can never silently shadow each
    other, and lookups of unknown names list the valid ones so a typo is
    obvious from the error alone.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        if name in self._entries:
            raise DgfasError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise DgfasError(f"unknown {self.kind} '{name}'; valid: {sorted(self._entries)}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
