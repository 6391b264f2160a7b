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

import os
import re

from oslo_config import cfg
from oslo_config import fixture as config_fixture

from nova import exception
from nova import test
from nova.tests.functional import fixtures as func_fixtures

from sev_scheduler import conf

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
#: The nova.conf lines the docs give operators (admin/enabling.rst).
NOVA_CONF = os.path.join(REPO, 'doc', 'source', 'admin', 'nova-scheduler.conf')
README = os.path.join(REPO, 'README.md')


def readme_nova_conf():
    """The documented nova.conf lines, parsed as oslo.config parses nova.conf.

    :returns: {section: {option: [value, ...]}}
    """
    sections = {}
    cfg.ConfigParser(NOVA_CONF, sections).parse()
    return sections


def apply_readme_nova_conf(test_case):
    """Configure Nova's scheduler with the documented lines."""
    options = readme_nova_conf()['filter_scheduler']
    test_case.flags(available_filters=options['available_filters'],
                    enabled_filters=options['enabled_filters'][-1].split(','),
                    weight_classes=options['weight_classes'][-1].split(','),
                    group='filter_scheduler')


class DocumentedNovaConfTestCase(test.NoDBTestCase):
    """The README shows operators the lines the docs give and tests use."""

    def test_readme_lines_are_documented_lines_passes(self):
        with open(README) as readme:
            block = re.search(r'```ini\n(.*?)```', readme.read(),
                              re.S).group(1)
        with open(NOVA_CONF) as documented:
            self.assertEqual(documented.read(), block)


class SchedulerServiceTestCase(test.TestCase):
    """Nova's scheduler service, configured as the docs tell operators."""

    def setUp(self):
        super().setUp()
        self.useFixture(func_fixtures.PlacementFixture())

    def test_documented_lines_load_sev_filter_passes(self):
        apply_readme_nova_conf(self)
        scheduler = self.start_service('scheduler')
        enabled = [type(f).__name__
                   for f in scheduler.manager.host_manager.enabled_filters]
        self.assertIn('SEVFilter', enabled)
        sev_filter = scheduler.manager.host_manager.filter_obj_map[
            'SEVFilter']
        self.assertEqual('sev_scheduler.filters', type(sev_filter).__module__)
        self.assertIn('SEVWeigher', [
            type(w).__name__ for w in scheduler.manager.host_manager.weighers])

    def test_without_available_filters_line_sev_filter_fails(self):
        # The second available_filters line is what makes the class known.
        apply_readme_nova_conf(self)
        self.flags(available_filters=['nova.scheduler.filters.all_filters'],
                   group='filter_scheduler')
        error = self.assertRaises(exception.SchedulerHostFilterNotFound,
                                  self.start_service, 'scheduler')
        self.assertIn('SEVFilter', error.format_message())

    def _assert_start_fails(self, words, **raw_values):
        """The scheduler refuses to start with these nova.conf values."""
        apply_readme_nova_conf(self)
        self.useFixture(config_fixture.Config(conf.CONF)).load_raw_values(
            group='sev_scheduler', **raw_values)
        error = self.assertRaises((ValueError, cfg.Error),
                                  self.start_service, 'scheduler')
        for word in words:
            self.assertIn(word, str(error))

    def test_unknown_check_fails_at_start(self):
        self._assert_start_fails(
            ['[sev_scheduler] checks', 'gpu_stuff',
             'accepted values: accelerators, boot_disk_bus, ide_devices, '
             'mdev_vgpu, pci_passthrough'],
            checks='pci_passthrough,gpu_stuff')

    def test_negative_cap_fails_at_start(self):
        self._assert_start_fails(['max_guests_per_host',
                                  'greater than or equal to 0'],
                                 max_guests_per_host='-1')

    def test_non_numeric_multiplier_fails_at_start(self):
        self._assert_start_fails(['weight_multiplier', 'heavy'],
                                 weight_multiplier='heavy')

    def test_non_boolean_isolation_fails_at_start(self):
        self._assert_start_fails(['isolate_sev_hosts', 'sometimes'],
                                 isolate_sev_hosts='sometimes')
