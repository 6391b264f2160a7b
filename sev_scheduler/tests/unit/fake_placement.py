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

"""Nova's Placement client as the plugin uses it, answering from memory."""

import collections
from urllib import parse

import fixtures
import os_resource_classes as orc

from nova.scheduler.client import report

from sev_scheduler import capacity

SlotProvider = collections.namedtuple(
    'SlotProvider', ['uuid', 'root', 'trait', 'total', 'used'])


class _Response:

    status_code = 200

    def __init__(self, body):
        self.body = body

    def __bool__(self):
        return True

    def json(self):
        return self.body


class FakePlacement:
    """Slot providers and allocations; every call counted in ``calls``."""

    def __init__(self):
        self.providers = []
        self.allocations = {}
        self.traits = {}
        #: MEMORY_MB capacity of a root provider, as Placement counts it
        self.memory = {}
        self.error = None
        self.calls = 0

    def add_slots(self, uuid, root, model, total, used=0):
        self.providers.append(SlotProvider(
            uuid, root, capacity.MODEL_TRAITS[model], total, used))

    def _call(self):
        self.calls += 1
        if self.error:
            raise self.error

    # Rebuild: the instance's allocations and a provider's traits.

    def get_allocs_for_consumer(self, context, consumer):
        self._call()
        return {'allocations': {
            rp: {'resources': resources}
            for rp, resources in self.allocations.get(consumer, {}).items()}}

    def get_provider_traits(self, context, rp_uuid):
        self._call()
        return report.TraitInfo(traits=set(self.traits.get(rp_uuid, ())),
                                generation=1)

    # Provider trees and SEV hosts: GET, as SchedulerReportClient.get does
    # it.

    def get(self, url, version=None, global_request_id=None):
        self._call()
        path, _, query = url.partition('?')
        params = parse.parse_qs(query)
        if path == '/resource_providers':
            wanted = params['required'][0][len('in:'):].split(',')
            return _Response({'resource_providers': [
                {'uuid': p.uuid, 'root_provider_uuid': p.root}
                for p in self.providers if p.trait in wanted]})
        # One compute node's tree, as SlotView reads it.
        root = params['in_tree'][0]
        summaries = {root: {
            'resources': {orc.MEMORY_MB: {
                'capacity': self.memory.get(root, 0), 'used': 0}},
            'traits': [], 'root_provider_uuid': root}}
        for p in self.providers:
            if p.root != root:
                continue
            summary = summaries.setdefault(p.uuid, {
                'resources': {}, 'traits': [], 'root_provider_uuid': root})
            summary['resources'][capacity.SLOT] = {'capacity': p.total,
                                                   'used': p.used}
            summary['traits'].append(p.trait)
        return _Response({'provider_summaries': summaries})


def use(test_case):
    """A FakePlacement standing in for Nova's client for the test.

    The scheduler process's copy of what it read starts empty.
    """
    placement = FakePlacement()
    test_case.useFixture(fixtures.MockPatchObject(capacity, 'CACHE',
                                                  capacity.Cache()))
    test_case.useFixture(fixtures.MockPatch(
        'nova.scheduler.client.report.report_client_singleton',
        return_value=placement))
    return placement
