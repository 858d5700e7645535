"""`neurodeploy models NAME`: a family's description, parameters (type, bounds, default) and protocols."""

import textwrap

from click.testing import CliRunner

from conftest import ROOT
from neurodeploy.cli import main


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def rows(output: str) -> dict[str, list[str]]:
    """The parameter table: name -> the words of its row."""
    table = output.split("parameters (--param KEY=VALUE):\n")[1].split("protocols")[0]
    return {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}


def test_a_family_shows_its_docstring_its_parameters_as_its_builder_declares_them_and_no_protocols():
    shown = invoke("models", "feedforward-poisson")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("feedforward-poisson: Feed-forward LIF population driven by Poisson spike sources")
    assert "``recurrent_p`` adds random excitatory recurrence" in shown.output  # the docstring, whole
    table = rows(shown.output)
    assert list(table)[:3] == ["n_neurons", "n_inputs", "rate_hz"] and len(table) == 14
    assert table["n_neurons"] == ["int", ">=", "1", "default", "200"]
    assert table["rate_hz"] == ["float", ">", "0", "default", "10.0"]
    assert table["p_connect"] == ["float", ">=", "0,", "<=", "1", "default", "0.2"]
    assert table["cell_type"] == ["str", "-", "default", "'IF_curr_exp'"]
    assert "protocols (--protocol NAME): takes none (use --stimulus)" in shown.output
    assert f"source: {ROOT / 'neurodeploy' / 'models' / 'feedforward_poisson.py'}" in shown.output


def test_a_family_with_protocols_lists_the_ones_it_ships():
    shown = invoke("models", "ca3-cam")
    shipped = sorted(path.stem for path in (ROOT / "models" / "protocols").glob("ca3-cam-*.json"))
    assert shipped and f"protocols (--protocol NAME): {', '.join(shipped)}" in shown.output
    assert rows(shown.output) == {
        "cue_size": ["int", ">=", "1", "default", "5"],
        "content_size": ["int", ">=", "1", "default", "10"],
    }


def test_a_users_family_shows_required_optional_and_undeclared_parameters(tmp_path):
    (tmp_path / "mine.py").write_text(
        textwrap.dedent(
            '''
            """My network.

            More about it."""
            from typing import Annotated

            from neurodeploy.description import Network
            from neurodeploy.description.values import Range

            NAME = "mine"


            def build(
                size: Annotated[int, Range(at_least=2, at_most=9)],
                gain: float | None = None,
                tags=(),
                sizes: list[int] | None = None,
                **extra,
            ):
                return Network(NAME)
            '''
        )
    )
    shown = invoke("models", "mine", env={"NEURODEPLOY_MODEL_PATH": str(tmp_path)})
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("mine: My network.\n\nMore about it.\n")
    assert rows(shown.output) == {
        "size": ["int", ">=", "2,", "<=", "9", "required"],
        "gain": ["float", "or", "None", "-", "default", "None"],
        "tags": ["-", "-", "default", "()"],
        "sizes": ["list[int]", "|", "None", "-", "default", "None"],  # the hint as written: no second None
    }


def test_an_unknown_family_is_one_line_and_exit_2():
    shown = CliRunner().invoke(main, ["models", "no-such-model"])
    assert shown.exit_code == 2
    assert shown.output.count("\n") == 1 and "unknown model (registered: ca3-cam, " in shown.output
