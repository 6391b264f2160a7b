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

"""What the deployment recipes' tests share: paths, the upgrade check."""

import contextlib
import io
import json
import os

import fixtures
from oslo_config import cfg
import testtools
import yaml

import nova.conf.scheduler

from sev_scheduler.cmd import status
from sev_scheduler import conf as sev_conf

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
DEPLOY = os.path.join(REPO, 'deploy')
DATA = os.path.join(os.path.dirname(__file__), 'data')
HELM = os.path.join(DEPLOY, 'openstack-helm')
HELM_VALUES = os.path.join(HELM, 'values-sev-scheduler.yaml')
CONTAINERFILE = os.path.join(HELM, 'Containerfile')

#: What the recipes put in [filter_scheduler], as oslo.config reads it.
FILTERS = ['nova.scheduler.filters.all_filters',
           'sev_scheduler.filters.SEVFilter']
NOVA_ENABLED = ['ComputeFilter', 'ComputeCapabilitiesFilter',
                'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter',
                'ServerGroupAffinityFilter']
WEIGHERS = ['nova.scheduler.weights.all_weighers',
            'sev_scheduler.weighers.SEVWeigher']


def helm_values():
    """The OpenStack-Helm values file, as Helm reads it."""
    with open(HELM_VALUES) as values:
        return yaml.safe_load(values)


def containerfile_text():
    with open(CONTAINERFILE) as text:
        return text.read()


def read_conf(path):
    """PATH as nova-scheduler reads it, with sev-scheduler's options."""
    conf = cfg.ConfigOpts()
    nova.conf.scheduler.register_opts(conf)
    sev_conf.register_opts(conf)
    conf(['--config-file', path], project='nova')
    return conf


def run_upgrade_check(path):
    """Run ``sev-scheduler-status --config-file PATH upgrade check``.

    :returns: (exit status, {check: (result, details)}, stderr)
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        code = status.main(['--config-file', path, 'upgrade', 'check',
                            '--json'])
    results = {check['check']: (check['result'], check['details'])
               for check in json.loads(stdout.getvalue())['checks']}
    return code, results, stderr.getvalue()


class DeployTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as out:
            out.write(text)
        return path

    def upgrade_check(self, path):
        """The upgrade check's results on PATH, asserting it exits 0.

        Every check must succeed: the recipes enable the filter and the
        weigher and set valid options, and every release tested here is
        supported, so no check has a reason to warn.
        """
        code, results, stderr = run_upgrade_check(path)
        self.assertEqual(
            {name: status.SUCCESS for name in results},
            {name: result for name, (result, _) in results.items()},
            'upgrade check on %s:\n%s\n%s' % (path, results, stderr))
        self.assertEqual(0, code)
        return results

    def assert_scheduler_options(self, path):
        """Read PATH as nova-scheduler does: SEVFilter, SEVWeigher are on.

        Both after Nova's own defaults, as the recipes write them.
        """
        conf = read_conf(path)
        group = conf.filter_scheduler
        self.assertEqual(FILTERS, group.available_filters)
        self.assertEqual(NOVA_ENABLED + ['SEVFilter'], group.enabled_filters)
        self.assertEqual(WEIGHERS, group.weight_classes)
        return conf
