"""The data shipped with the engine (JSIC, KAKEN seeds, JGLUE sets, the fictional demo), each
folder with its README and licence. A package so that an installed wheel carries it and the
engine finds it through ``importlib.resources`` wherever it is installed."""
