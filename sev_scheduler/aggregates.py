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

"""Numbers operators set in host aggregate metadata."""

from oslo_log import log as logging

from nova.scheduler.filters import utils as filters_utils

LOG = logging.getLogger(__name__)

# Bad values already reported: each is logged once per scheduler process,
# not on every request for every host. Decisions never depend on it.
_reported = set()


def lowest(host_state, key, default, cast):
    """The lowest valid ``key`` value among the host's aggregates.

    A value that ``cast`` cannot read is logged once as a warning and
    ignored for that aggregate; with no valid value, ``default``.
    """
    if not host_state.aggregates:
        return default
    numbers = []
    for value in filters_utils.aggregate_values_from_key(host_state, key):
        try:
            numbers.append(cast(value))
        except (TypeError, ValueError):
            if (key, value) not in _reported:
                _reported.add((key, value))
                LOG.warning("Ignoring aggregate metadata %(key)s=%(value)r "
                            "(on %(host)s and maybe more hosts): not a "
                            "%(type)s", {'key': key, 'value': value,
                                         'host': host_state.host,
                                         'type': cast.__name__})
    return min(numbers) if numbers else default
