"""What ships for running the grader on a cluster and can be checked without one.

deploy/k8s/grade-job.yaml: an Indexed Job whose command line the grader itself parses, whose shards agree
with its completions, whose podFailurePolicy fails an index on the grader's own "do not retry" code, in a
pod that passes --sandbox pod's checks (non-root, no capabilities, read-only root, no egress, no token) and
has limits for what the grader is told to use. Containerfile: the README's install, step for step; the
course's files only, never submissions.
"""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from helpers import ROOT
from instructor_tools import grade
from instructor_tools.grading.shards import INDEX_VARIABLES, INFRASTRUCTURE_FAILURE

JOB_YAML = ROOT / "deploy" / "k8s" / "grade-job.yaml"
CONTAINERFILE = ROOT / "Containerfile"
GRADER_OVERHEAD_MB = 1024  # the grader and its workers, beside the kernels


@pytest.fixture(scope="module")
def manifests() -> dict:
    documents = [d for d in yaml.safe_load_all(JOB_YAML.read_text()) if d]
    return {d["kind"]: d for d in documents}


@pytest.fixture(scope="module")
def job(manifests) -> dict:
    return manifests["Job"]


def grader_container(job: dict) -> dict:
    (container,) = [c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "grader"]
    return container


def grader_args(job: dict):
    """The container's arguments as the grader parses them (the Job's $(VAR) left as text)."""
    return grade._parser().parse_args(grader_container(job)["args"])


def mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) << (10 if unit == "Gi" else 0)


def test_the_job_is_indexed_and_its_shards_agree(job):
    spec = job["spec"]
    args = grader_args(job)
    assert spec["completionMode"] == "Indexed"
    assert args.num_shards == spec["completions"] >= spec["parallelism"] >= 1
    assert args.shard_index is None and "JOB_COMPLETION_INDEX" in INDEX_VARIABLES  # the index comes from the Job
    assert spec["backoffLimitPerIndex"] >= 1
    assert "$(JOB_COMPLETION_INDEX)" in str(args.out)  # one folder per shard, for the merge
    env = {e["name"]: e for e in grader_container(job)["env"]}
    assert "job-completion-index" in env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]


def test_the_grader_s_do_not_retry_code_fails_the_index(job):
    spec = job["spec"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"  # podFailurePolicy needs it
    rules = [r for r in spec["podFailurePolicy"]["rules"] if "onExitCodes" in r]
    (rule,) = [r for r in rules if INFRASTRUCTURE_FAILURE in r["onExitCodes"]["values"]]
    assert rule["action"] == "FailIndex" and rule["onExitCodes"]["operator"] == "In"
    assert rule["onExitCodes"]["containerName"] == "grader"
    assert rule["onExitCodes"]["values"] == [INFRASTRUCTURE_FAILURE]  # nothing else is spared its retries


def test_the_pod_is_what_sandbox_pod_checks(job):
    pod = job["spec"]["template"]["spec"]
    container = grader_container(job)
    assert grader_args(job).sandbox == "pod"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"] and "add" not in security["capabilities"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[str(grader_args(job).submissions)].get("readOnly") is True


def test_the_limits_hold_what_the_grader_is_told_to_use(job):
    args = grader_args(job)
    limits = grader_container(job)["resources"]["limits"]
    assert int(limits["cpu"]) >= args.jobs  # --jobs kernels, a core each
    assert mebibytes(limits["memory"]) >= args.jobs * args.memory + GRADER_OVERHEAD_MB


def test_the_network_policy_denies_all_egress_of_the_grading_pods(manifests, job):
    policy = manifests["NetworkPolicy"]["spec"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert "Egress" in policy["policyTypes"] and not policy.get("egress")
    assert "Ingress" in policy["policyTypes"] and not policy.get("ingress")


# --------------------------------------------------------------------------- the Containerfile


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in joined.splitlines()
            if line.strip()]


def readme_install() -> list[str]:
    """The README's install, in its order: the venv, PyTorch's CPU build, the instructor's requirements."""
    readme = (ROOT / "README.md").read_text()
    venv = re.search(r"```bash\n(python -m venv \.venv)\n", readme).group(1)
    rows = {m.group(1): re.findall(r"`([^`]+)`", m.group(2))
            for m in re.finditer(r"^\| (learner without an NVIDIA GPU|instructor, contributor) \|(.*)$", readme, re.M)}
    return [venv, rows["learner without an NVIDIA GPU"][0], rows["instructor, contributor"][0]]


def test_the_image_installs_as_the_readme_says():
    runs = [args for kind, args in instructions(CONTAINERFILE.read_text()) if kind == "RUN"]
    steps = readme_install()
    assert steps[1].startswith("python -m pip install torch") and "requirements-dev.txt" in steps[2]
    found = [next(i for i, run in enumerate(runs) if run == step) for step in steps]  # each, word for word
    assert found == sorted(found)  # in the README's order
    env = " ".join(args for kind, args in instructions(CONTAINERFILE.read_text()) if kind == "ENV")
    assert "PATH=/course/.venv/bin:$PATH" in env  # the README's `source .venv/bin/activate`


def test_the_image_holds_the_course_never_submissions(job):
    steps = instructions(CONTAINERFILE.read_text())
    copied = [word for kind, args in steps if kind in ("COPY", "ADD") for word in shlex.split(args)[:-1]]
    assert copied and all((ROOT / source).exists() for source in copied), copied
    assert not any("submission" in source or source in (".", "./") for source in copied)
    assert ("WORKDIR", "/course") in steps
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert ("ARG", "COURSE_COMMIT=unknown") in steps and ("ENV", "COURSE_COMMIT=$COURSE_COMMIT") in steps
    assert int(user[-1].split(":")[0]) == job["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
