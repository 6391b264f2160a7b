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

import math

from oslo_log import log as logging

from nova.scheduler.filters import utils as filters_utils

LOG = logging.getLogger(__name__)

#: The aggregate metadata key capping a host's encrypted guests.
CAP_KEY = 'sev_max_guests'

# Bad values already reported: each is logged once per scheduler process,
# not on every request for every host. Decisions never depend on it.
_reported = set()


def values(host_state, key, cast):
    """The valid ``key`` values among the host's aggregates.

    A value that ``cast`` cannot read is logged once as a warning and
    ignored for that aggregate.
    """
    if not host_state.aggregates:
        return []
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
    return numbers


def lowest(host_state, key, default, cast):
    """The lowest valid ``key`` value among the host's aggregates.

    With no valid value, ``default``.
    """
    return min(values(host_state, key, cast), default=default)


def number(value):
    """A finite number read from metadata: NaN and infinities are not."""
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(value)
    return result


def cap(value):
    """A cap read from metadata: a whole number, 0 meaning "no cap"."""
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def strictest_cap(host_state, key, default):
    """The strictest cap the host's aggregates set, 0 for none.

    An aggregate's cap replaces ``default``, as Nova's per-aggregate
    values replace its options. 0 sets no cap: it never lifts a cap that
    another aggregate of the host sets, nor ``default``.
    """
    caps = [number for number in values(host_state, key, cap) if number]
    return min(caps, default=default)
