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
import tempfile

import fixtures
from oslo_config import fixture as config_fixture
from oslo_config import generator
import testtools

from nova.pci import request as pci_request
from nova import test

from sev_scheduler import conf
from sev_scheduler import weighers

ETC = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                   'sev-scheduler')


class ConfigTestCase(test.NoDBTestCase):

    def test_committed_sample_current(self):
        with tempfile.TemporaryDirectory() as tmp:
            output = os.path.join(tmp, 'sample.conf')
            generator.main([
                '--config-file',
                os.path.join(ETC, 'sev-scheduler-config-generator.conf'),
                '--output-file', output])
            with open(output) as generated, open(os.path.join(
                    ETC, 'sev-scheduler.conf.sample')) as committed:
                self.assertEqual(
                    generated.read(), committed.read(),
                    'Run "tox -e genconfig" and commit the sample.')

    def test_every_option_documented(self):
        for group, opts in conf.list_opts():
            self.assertEqual('sev_scheduler', group.name)
            for opt in opts:
                self.assertIn('Possible values', opt.help, opt.name)
                self.assertIn('Related options', opt.help, opt.name)

    def test_options_registered_with_nova(self):
        self.assertEqual(conf.ALL_CHECKS, conf.CONF.sev_scheduler.checks)
        self.assertFalse(conf.CONF.sev_scheduler.allow_memory_overcommit)

    def test_confidential_devices_off_by_default_passes(self):
        self.assertEqual([], conf.CONF.sev_scheduler.snp_pci_aliases)
        self.assertEqual([],
                         conf.CONF.sev_scheduler.confidential_device_traits)


class UseSchedulerConfTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.directory = self.useFixture(fixtures.TempDir()).path

    def _write(self, text):
        path = self.directory + '/nova.conf'
        with open(path, 'w') as nova_conf:
            nova_conf.write(text)
        return path

    def test_options_become_this_process_options(self):
        conf.use_scheduler_conf([self._write(
            '[sev_scheduler]\nallow_memory_overcommit = true\n'
            'checks = ide_devices\n')])
        self.assertTrue(conf.CONF.sev_scheduler.allow_memory_overcommit)
        self.assertEqual(['ide_devices'], conf.CONF.sev_scheduler.checks)

    def test_later_nova_conf_replaces_earlier_passes(self):
        # One process may read the files of two schedulers in turn.
        conf.use_scheduler_conf([self._write(
            '[sev_scheduler]\nallow_memory_overcommit = true\n')])
        conf.use_scheduler_conf([self._write('[sev_scheduler]\n')])
        self.assertFalse(conf.CONF.sev_scheduler.allow_memory_overcommit)

    def test_bad_value_named(self):
        path = self._write('[sev_scheduler]\nmax_guests_per_host = lots\n')
        error = self.assertRaises(ValueError, conf.use_scheduler_conf, [path])
        self.assertIn('cannot read the scheduler options of %s' % path,
                      str(error))
        self.assertIn('max_guests_per_host', str(error))

    def test_confidential_device_traits_read_passes(self):
        conf.use_scheduler_conf([self._write(
            '[sev_scheduler]\nsnp_pci_aliases = cc-gpu, cc-nic\n'
            'confidential_device_traits = CUSTOM_NVIDIA_CC_ON,'
            'COMPUTE_MANAGED_PCI_DEVICE\n')])
        self.assertEqual(['cc-gpu', 'cc-nic'],
                         conf.CONF.sev_scheduler.snp_pci_aliases)
        self.assertEqual(['CUSTOM_NVIDIA_CC_ON', 'COMPUTE_MANAGED_PCI_DEVICE'],
                         conf.CONF.sev_scheduler.confidential_device_traits)

    def test_nova_device_options_become_this_process_options(self):
        # Nova's parser reads [pci] alias once per process: read again.
        self.addCleanup(pci_request.get_alias_from_config.cache_clear)
        self.assertEqual({}, pci_request.get_alias_from_config())
        conf.use_scheduler_conf([self._write(
            '[pci]\nalias = {"name": "cc-gpu", "vendor_id": "10de", '
            '"product_id": "2331", "traits": "nvidia_cc_on"}\n'
            '[filter_scheduler]\npci_in_placement = true\n')])
        self.assertTrue(conf.CONF.filter_scheduler.pci_in_placement)
        self.assertEqual(['nvidia_cc_on'], [
            spec['traits'] for spec in
            pci_request.get_alias_from_config()['cc-gpu'][1]])

    def test_confidential_device_trait_not_placement_name_fails(self):
        # Placement holds the device_spec tag "nvidia_cc_on" as
        # CUSTOM_NVIDIA_CC_ON: the tag itself would never match.
        for value in ('nvidia_cc_on', 'CUSTOM_nvidia', 'CUSTOM_',
                      'HW_GPU_NO_SUCH_TRAIT'):
            path = self._write('[sev_scheduler]\n'
                               'confidential_device_traits = %s\n' % value)
            error = self.assertRaises(ValueError, conf.use_scheduler_conf,
                                      [path])
            self.assertIn('confidential_device_traits', str(error))
            self.assertIn('%r is not a Placement trait' % value, str(error))

    def test_weigher_with_nan_multiplier_not_loaded_fails(self):
        # What nova-scheduler does at start: load the plugin.
        conf.CONF.set_override('weight_multiplier', float('nan'),
                               group='sev_scheduler')
        error = self.assertRaises(ValueError, weighers.SEVWeigher)
        self.assertIn('weight_multiplier = nan: not a finite number',
                      str(error))

    def test_weight_multiplier_not_finite_fails(self):
        # oslo.config reads "nan" as a float: Nova's weights would be NaN.
        for name in ('weight_multiplier', 'plain_on_sev_weight_multiplier'):
            for value in ('nan', 'inf'):
                path = self._write('[sev_scheduler]\n%s = %s\n'
                                   % (name, value))
                error = self.assertRaises(ValueError,
                                          conf.use_scheduler_conf, [path])
                self.assertIn('%s = %s: not a finite number' % (name, value),
                              str(error))
