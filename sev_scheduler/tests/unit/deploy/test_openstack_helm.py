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

"""deploy/openstack-helm: the nova chart values and the Containerfile."""

import os

from sev_scheduler.cmd import status
from sev_scheduler.tests.unit.deploy import base
from sev_scheduler.tests.unit.deploy import containerfile
from sev_scheduler.tests.unit.deploy import helm


class ToOsloConfTestCase(base.DeployTestCase):
    """The Python to_oslo_conf renders as the template says it does."""

    def test_to_oslo_conf_template_example_passes(self):
        # The example in _to_oslo_conf.tpl's own header, input and output.
        conf = {
            'DEFAULT': {'max_token_size': 255},
            'oslo_messaging_notifications': {
                'driver': {'type': 'multistring',
                           'values': ['messagingv2', 'log']}},
            'oslo_messaging_notifications_stein': {
                'driver': {'type': 'csv', 'values': ['messagingv2', 'log']}},
            'security_compliance': {
                'password_expires_ignore_user_ids': ['123', '456']},
        }
        self.assertEqual(
            '[DEFAULT]\n'
            'max_token_size = 255\n'
            '[oslo_messaging_notifications]\n'
            'driver = messagingv2\n'
            'driver = log\n'
            '[oslo_messaging_notifications_stein]\n'
            'driver = messagingv2,log\n'
            '[security_compliance]\n'
            'password_expires_ignore_user_ids = 123,456\n',
            helm.to_oslo_conf(conf))

    def test_to_oslo_conf_go_values_passes(self):
        conf = {'s': {'b': True, 'f': 1.0, 'n': -10.0, 'big': 1000000,
                      'none': None, 'z': 'text'},
                'not_a_section': 'ignored'}
        self.assertEqual('[s]\nb = true\nbig = 1e+06\nf = 1\nn = -10\n'
                         'z = text\n', helm.to_oslo_conf(conf))

    def test_to_oslo_conf_untyped_map_fails(self):
        self.assertRaises(helm.RenderError, helm.to_oslo_conf,
                          {'s': {'key': {'values': ['a']}}})


class ValuesTestCase(base.DeployTestCase):

    def render(self, conf):
        return self.write('nova.conf', helm.to_oslo_conf(conf))

    def test_values_nova_conf_upgrade_check_passes(self):
        path = self.render(base.helm_values()['conf']['nova'])
        self.upgrade_check(path)
        conf = self.assert_scheduler_options(path)
        # Numbers as Helm prints them still read as the same options.
        self.assertEqual(-10.0, conf.sev_scheduler
                         .plain_on_sev_weight_multiplier)
        self.assertEqual(60, conf.sev_scheduler.placement_max_age)

    def test_values_available_filters_repeated_key_passes(self):
        text = helm.to_oslo_conf(base.helm_values()['conf']['nova'])
        self.assertIn(
            '[filter_scheduler]\n'
            'available_filters = nova.scheduler.filters.all_filters\n'
            'available_filters = sev_scheduler.filters.SEVFilter\n', text)

    def test_values_available_filters_as_list_fails(self):
        # Why the values use type: multistring: a list is one value, one
        # class path that does not exist.
        conf = base.helm_values()['conf']['nova']
        conf['filter_scheduler']['available_filters'] = base.FILTERS
        code, results, _ = base.run_upgrade_check(self.render(conf))
        self.assertEqual(status.FAILURE, code)
        self.assertEqual(status.FAILURE, results['SEVFilter available'][0])

    def test_values_image_only_scheduler_passes(self):
        # Only nova-scheduler loads filters: the other pods keep the
        # chart's images.
        self.assertEqual(['nova_scheduler'],
                         list(base.helm_values()['images']['tags']))


class ContainerfileTestCase(base.DeployTestCase):

    def setUp(self):
        super().setUp()
        self.global_args, self.stages = containerfile.stages(
            base.containerfile_text())
        self.final = self.stages[-1]

    def test_containerfile_release_matches_image_passes(self):
        release = self.final.args['RELEASE']
        self.assertTrue(os.path.isfile(os.path.join(
            base.REPO, 'constraints', release + '.txt')))
        image = self.global_args['NOVA_IMAGE']
        self.assertEqual('${NOVA_IMAGE}', self.final.image)
        # quay.io/airshipit/nova:2026.1-ubuntu_noble
        self.assertTrue(image.split(':')[-1].startswith(release + '-'),
                        image)

    def test_containerfile_image_tag_matches_values_passes(self):
        tag = base.helm_values()['images']['tags']['nova_scheduler']
        self.assertTrue(tag.endswith(':' + self.final.args['RELEASE']), tag)

    def test_containerfile_installs_with_constraints_passes(self):
        runs = [' '.join(rest.split())
                for word, rest in self.final.steps if word == 'RUN']
        self.assertEqual(1, len(runs))
        self.assertIn('-m pip install --no-cache-dir -c '
                      '/tmp/sev-scheduler/upper-constraints.txt', runs[0])
        copies = [rest for word, rest in self.final.steps if word == 'COPY']
        self.assertIn('constraints/${RELEASE}.txt '
                      '/tmp/sev-scheduler/upper-constraints.txt', copies)
