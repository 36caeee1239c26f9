"""Operations usable as library calls: dry runs, lag, replay, validation, phases."""
