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

"""The demo's cloud: Nova's in-process cloud from the functional tests.

Real API, conductor, scheduler and Placement on sqlite, fake libvirt hosts,
SEVFilter enabled with the README's nova.conf lines; then a scripted series
of requests, one per rule, each recorded as what a user would see and who
refused it; then the operator tools, run against the same cloud.
"""

import collections
import logging
import unittest

# Nova's functional package first: its eventlet patching must precede
# oslo.db, which Nova's fixtures import (see tests/functional/__init__.py).
import nova.tests.functional  # noqa: F401
from nova.tests.fixtures import cinder as cinder_fixture  # noqa: H306
from nova.tests.functional.api import client

from sev_scheduler import compat
from sev_scheduler.demo import apis
from sev_scheduler.demo import results
from sev_scheduler.demo import tools
from sev_scheduler.tests.functional import base

Options = collections.namedtuple(
    'Options', ['sev_hosts', 'plain_hosts', 'slots'])


class _Origins(logging.Handler):
    """Who refused the request being scheduled, from the services' logs.

    Nova's scheduler says when Placement had no candidate, and which filter
    left no host; SEVFilter says when it refuses a request.
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self.origins = []

    def emit(self, record):
        message = record.msg
        if not isinstance(message, str):
            return
        if (record.name == 'nova.scheduler.manager' and
                message.startswith('Got no allocation candidates')):
            self.origins.append(results.PLACEMENT)
        elif (record.name == 'nova.filters' and
                message.startswith('Filter %s returned 0 hosts')):
            self.origins.append(str(record.args[0]))
        elif (record.name.startswith('sev_scheduler.') and
                message.startswith('Refusing instance')):
            self.origins.append(results.SEV_FILTER)

    def origin(self):
        return self.origins[-1] if self.origins else results.NOVA_SCHEDULER


class DemoCloud(apis.OperatorAPIs, base.SEVTestBase):
    """Runs the demo as the one test of a Nova functional test case."""

    # As in production: rebuilds and boots are cast to the conductor.
    CAST_AS_CALL = False

    def __init__(self, options, report, outcomes, sections):
        """Prepare the cloud; it starts when the case runs.

        :param report: shows ``hosts(list)`` and ``progress(request)``,
            says how wide the tools' tables may be (``width``), and
            is handed the running cloud by ``ready(cloud)`` once the script
            and the tools have run.
        :param outcomes: the list each request's Outcome is appended to;
        :param sections: the list each tool's Section is appended to; both
            outlive the test case, whose attributes Nova's tearDown clears.
        """
        super().__init__('runTest')
        self.options = options
        self.report = report
        self.outcomes = outcomes
        self.sections = sections

    def setUp(self):
        self.configure_devices()
        super().setUp()
        # Commands run by hand authenticate with a clouds.yaml's token.
        self.useFixture(apis.TokenUserFixture(self.api_fixture.project_id))
        self.origins = _Origins()
        logging.getLogger().addHandler(self.origins)
        self.addCleanup(logging.getLogger().removeHandler, self.origins)
        # The script fills every slot of the cloud, whatever its size.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.create_image('sev_usb', dict(base.SEV_IMAGE, hw_disk_bus='usb'))
        self.create_image('sev_ide_cdrom', dict(base.SEV_IMAGE,
                                                hw_cdrom_bus='ide'))
        self.create_image('sev_bios', {'hw_mem_encryption': 'True'})
        self.create_flavor('sev_pci', {'hw:mem_encryption': 'true',
                                       'pci_passthrough:alias': 'gpu:1'})
        self.create_flavor('sev_vgpu', {'hw:mem_encryption': 'true',
                                        'resources:VGPU': '1'})
        self.create_flavor('maybe', {'hw:mem_encryption': 'maybe'})
        self.sev_hosts = ['sev-%d' % index
                          for index in range(1, self.options.sev_hosts + 1)]
        for hostname in self.sev_hosts:
            self.start_host(hostname, slots=self.options.slots,
                            es_slots=self.options.slots,
                            pci_info=self.with_devices())
        # One slot, which the admin's forced-host boot takes.
        self.start_host('sev-overcommit', slots=1, ram_allocation_ratio=1.5)
        for index in range(1, self.options.plain_hosts + 1):
            self.start_host('plain-%d' % index)
        self.report.hosts([self.describe_host(name)
                           for name in self.computes])

    def describe_host(self, hostname):
        """A host as Placement sees it: slots per model and RAM ratio."""
        root = self.compute_rp_uuids[hostname]
        providers = self.placement.get(
            '/resource_providers?in_tree=%s' % root,
            version='1.14').body['resource_providers']
        slots = {}
        for provider in providers:
            inventory = self._get_provider_inventory(provider['uuid'])
            if provider['uuid'] == root:
                ratio = inventory['MEMORY_MB']['allocation_ratio']
                # Before Nova 2025.2 the slots, AMD SEV ones only, are the
                # root provider's.
                model = compat.AMD_SEV
            else:
                # Since, a child provider's per model: <host>_amd_sev_es...
                model = provider['name'][len(hostname) + 1:].replace('_', '-')
            if base.SLOT in inventory:
                slots[model] = inventory[base.SLOT]['total']
        return {'host': hostname,
                'sev': ', '.join('%s: %d' % item
                                 for item in sorted(slots.items())) or 'no',
                'ram_allocation_ratio': ratio}

    # One scripted request: boot it, wait, record what the user sees.

    def _record(self, request, asked, servers, origin=None, reason='',
                note=''):
        failed = [server for server in servers if server['status'] == 'ERROR']
        hosts = []
        if failed:
            reason = failed[0]['fault']['message']
            origin = self.origins.origin()
            said = reason[len(results.NO_VALID_HOST):].strip()
            if said in ('', results.NOT_ENOUGH_HOSTS):
                # Nova's fault says nothing more: explain does.
                explain = 'sev-scheduler explain %s' % failed[0]['name']
            else:
                explain = None
        else:
            hosts = [self.host_of(server) for server in servers]
            explain = None
        outcome = results.Outcome(
            request, asked, [server['name'] for server in servers], hosts,
            origin, reason, explain, note)
        self.outcomes.append(outcome)
        self.report.progress(request)
        return outcome

    def _boot(self, request, asked, flavor='plain', image='plain',
              host=None, bdms=None, count=1):
        body = self._build_server(
            name=request, image_uuid=self.images[image],
            flavor_id=self.flavors[flavor], networks='none', host=host)
        if bdms:
            body['block_device_mapping_v2'] = bdms
        body.update(min_count=count, max_count=count)
        api = self.admin_api if host else self.api
        del self.origins.origins[:]
        try:
            api.post_server({'server': body})
        except client.OpenStackApiException as error:
            return self._record(
                request, asked, [], results.NOVA_API, '%s %s' % (
                    error.response.status_code,
                    error.response.json()['badRequest']['message']))
        servers = self.api.get_servers(
            search_opts={'name': r'^%s(-\d+)?$' % request})
        return self._record(request, asked, [
            self.settle(server)
            for server in sorted(servers, key=lambda s: s['name'])])

    def _free_slots(self):
        """Free amd-sev slots on the hosts SEVFilter accepts."""
        return sum(self.options.slots - self.slots_used(hostname)
                   for hostname in self.sev_hosts)

    def script(self):
        """One request per rule, each recorded as an Outcome."""
        self._boot('plain', 'no encryption')
        self._boot('pci-passthrough', 'SEV + PCI alias gpu:1',
                   flavor='sev_pci', image='sev')
        self._boot('vgpu', 'SEV + resources:VGPU=1', flavor='sev_vgpu',
                   image='sev')
        self._boot('usb-boot-disk', 'SEV + hw_disk_bus=usb', image='sev_usb')
        self._boot('ide-volume', 'SEV + an IDE volume',
                   image='sev', bdms=[
                       {'boot_index': 0, 'uuid': self.images['sev'],
                        'source_type': 'image', 'destination_type': 'local'},
                       {'boot_index': -1,
                        'uuid': cinder_fixture.CinderFixture.SWAP_OLD_VOL,
                        'source_type': 'volume',
                        'destination_type': 'volume', 'disk_bus': 'ide'}])
        self._boot('ide-cdrom', 'SEV + hw_cdrom_bus=ide',
                   image='sev_ide_cdrom')
        self._boot('malformed', 'hw:mem_encryption=maybe', flavor='maybe')
        self._boot('no-uefi', 'SEV, image without hw_firmware_type=uefi',
                   image='sev_bios')
        self._boot('sev-overcommitted', 'SEV on sev-overcommit (RAM ratio '
                   '1.5)', image='sev', host='sev-overcommit')
        self._boot('plain-overcommit', 'no encryption on sev-overcommit',
                   host='sev-overcommit')

        plain = self.api.get_servers(search_opts={'name': '^plain$'})[0]
        del self.origins.origins[:]
        self.api.post_server_action(
            plain['id'], {'rebuild': {'imageRef': self.images['sev']}})
        self._wait_for_state_change(plain, 'ERROR')
        self._record('rebuild-adds-sev', 'rebuild "plain" with an SEV image',
                     [self.settle(plain)])

        # Slots are taken only now, so the refusals above are SEVFilter's
        # own whatever the cloud's size.
        self._boot('sev-flavor', 'hw:mem_encryption=true (flavor)',
                   flavor='sev', image='sev')
        self._boot('sev-image', 'hw_mem_encryption=true (image)',
                   image='sev')
        self._boot('sev-es-image', 'model amd-sev-es (image)',
                   image='sev_es')
        # The one way around every filter: audit finds what it leaves.
        self._forced_host_boot('forced', 'SEV + an IDE volume, by an admin '
                               'on az=nova:sev-overcommit', 'sev-overcommit')
        free = self._free_slots()
        if free:
            self._boot('too-many', '%d SEV at once, %d slots free'
                       % (free + 1, free), image='sev', count=free + 1)
            self._boot('fill', '%d SEV at once' % free, image='sev',
                       count=free)
        self._boot('one-more', 'SEV, every slot taken', image='sev')
        self._delete_server(self.api.get_servers(
            search_opts={'name': '^sev-flavor$'})[0])
        self._boot('after-delete', 'SEV after deleting "sev-flavor"',
                   image='sev')

    # The operator tools, on the same cloud.

    def _tool(self, heading, note, *argv):
        self.sections.append(results.Section(heading, note, tools.run(
            self.cloud(), *argv, width=self.report.width)))

    def _forced_host_boot(self, name, asked, host):
        """Boot an SEV server on a forced host, as an admin: no filter runs.

        With a volume on the IDE bus, which SEVFilter would have refused.
        """
        body = self._build_server(
            name=name, image_uuid=self.images['sev'],
            flavor_id=self.flavors['sev'], networks='none',
            az='nova:%s' % host)
        body['block_device_mapping_v2'] = [
            {'boot_index': 0, 'uuid': self.images['sev'],
             'source_type': 'image', 'destination_type': 'local'},
            {'boot_index': -1, 'source_type': 'volume',
             'uuid': cinder_fixture.CinderFixture.SWAP_OLD_VOL,
             'destination_type': 'volume', 'disk_bus': 'ide'}]
        del self.origins.origins[:]
        server = self.admin_api.post_server({'server': body})
        return self._record(name, asked, [self.settle(server)],
                            note='a forced host: no filter ran, see audit')

    def operator_tools(self):
        """capacity, explain, audit and metrics, as sections."""
        self._tool('capacity', 'Encryption slots per host and model, from '
                   'Placement.', 'capacity')
        explained = next(
            (outcome for outcome in self.outcomes
             if outcome.explain and outcome.origin == results.PLACEMENT),
            next((outcome for outcome in self.outcomes if outcome.explain),
                 None))
        if explained is not None:
            self._tool('explain', 'Why "%s" was refused: its fault says '
                       'only "%s" (the main fields; -f json shows them all).'
                       % (explained.servers[0], explained.reason.strip()),
                       *explained.explain.split()[1:] + [
                           '-c', 'Fault', '-c', 'Model', '-c', 'Verdict',
                           '-c', 'Placement', '-c', 'Hosts', '-c', 'Answer'])
        self._tool('audit', 'An admin booted "forced" on '
                   'az=nova:sev-overcommit: on a forced host no filter runs. '
                   'Audit finds what it left behind (-f json adds the '
                   'action to take).',
                   'audit', '-c', 'Name', '-c', 'Kind', '-c', 'Problem')
        self._tool('metrics', 'One collection, as Prometheus scrapes it '
                   '(--listen serves it; --output writes it for '
                   "node_exporter's textfile collector); samples only.",
                   'metrics', '--audit')
        # Each sample, without the HELP and TYPE lines.
        metrics = self.sections[-1].run
        self.sections[-1] = self.sections[-1]._replace(run=metrics._replace(
            argv=metrics.argv + ('|', 'grep', '-v', "'^#'"),
            stdout=''.join(line for line in metrics.stdout.splitlines(True)
                           if not line.startswith('#'))))

    def runTest(self):
        self.script()
        self.operator_tools()
        self.report.ready(self)


def run(options, report):
    """Start the cloud, run the script and the tools.

    :returns: the Outcomes and the tools' Sections.
    """
    outcomes, sections = [], []
    cloud = DemoCloud(options, report, outcomes, sections)
    result = unittest.TestResult()
    cloud.run(result)
    problems = result.errors + result.failures
    if problems:
        raise RuntimeError('the demo cloud failed: %s'
                           % problems[0][1].strip().splitlines()[-1])
    return outcomes, sections
