#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The OpenStack-Helm Containerfile's pip lines, run in a new venv.

Slow (minutes: Nova and every dependency come from the package index), and
the same whatever Nova the test runs with, so it runs once, in its own tox
environment (``tox -e recipes``, which ``.ci/run`` runs), not in each
release's unit tests.
"""

import json
import os
import subprocess
import venv

from sev_scheduler.cmd import status
from sev_scheduler.tests.unit.deploy import base
from sev_scheduler.tests.unit.deploy import containerfile
from sev_scheduler.tests.unit.deploy import helm


class ContainerfileInstallTestCase(base.DeployTestCase):

    def setUp(self):
        super().setUp()
        self.final = containerfile.stages(base.containerfile_text())[1][-1]

    def test_containerfile_pip_lines_install_in_clean_venv_passes(self):
        """SLOW (about 2 minutes): both RUN lines, in a new venv.

        The wheel stage's ``pip wheel`` on a copy of exactly what its COPY
        lines take from this checkout, then the Nova stage's ``pip install
        -c constraints/$RELEASE.txt`` of that wheel, each line as written
        (paths moved under a temporary directory, ``VENV`` a new virtual
        environment in place of the image's, ``python3`` the test's).
        The venv has no Nova: the install pulls Nova and every dependency
        from the package index under the release's constraints (without
        ``--no-deps``, so the constraints file is proven to resolve), which
        is the slow part. Then the installed ``sev-scheduler-status`` runs
        the upgrade check on the nova.conf the Helm values render to.
        """
        venv_dir = os.path.join(self.dir, 'venv')
        venv.EnvBuilder(with_pip=True).create(venv_dir)
        bin_dir = os.path.join(venv_dir, 'bin')
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ['PATH'])
        env.pop('PYTHONPATH', None)
        env.pop('VIRTUAL_ENV', None)
        build = containerfile.Build(
            base.containerfile_text(), base.REPO,
            os.path.join(self.dir, 'root'),
            {'VENV': venv_dir}, env)
        build.run()
        self.assertEqual(2, len(build.commands))
        self.assertEqual(1, len(build.files('wheel', 'wheels/*.whl')))
        # The stand-in for /tmp/sev-scheduler is removed, as in the image.
        self.assertEqual([], build.files('final', 'tmp/sev-scheduler'))

        python = os.path.join(bin_dir, 'python3')
        found = subprocess.run(
            [python, '-c', 'import nova.version, sev_scheduler; '
             'print(nova.version.version_string()); '
             'print(sev_scheduler.__file__)'],
            env=env, cwd=self.dir, check=True, stdout=subprocess.PIPE,
            text=True).stdout.split()
        # Installed from the wheel, not this checkout.
        self.assertTrue(found[1].startswith(venv_dir), found[1])
        # The constraints chose the release's Nova.
        release = self.final.args['RELEASE']
        major = int(found[0].split('.')[0])
        self.assertEqual(release, status.SUPPORTED_NOVA[major])

        nova_conf = self.write('nova.conf', helm.to_oslo_conf(
            base.helm_values()['conf']['nova']))
        check = subprocess.run(
            [os.path.join(bin_dir, 'sev-scheduler-status'), '--config-file',
             nova_conf, 'upgrade', 'check', '--json'],
            env=env, cwd=self.dir, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.assertEqual(0, check.returncode, check.stdout + check.stderr)
        self.assertEqual(
            {0}, {c['result'] for c in json.loads(check.stdout)['checks']})
