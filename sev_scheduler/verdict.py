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

"""Why a request can never be scheduled, in words a user understands.

Shared by SEVFilter and ``sev-scheduler check-request``, so that the
offline answer is the filter's own.
"""

import collections

from nova import exception

from sev_scheduler.i18n import _

#: What Nova keeps of a fault's message (bytes of the instance_faults
#: column, on every supported release). The whole reason still reaches the
#: fault's details, which admins see, and the scheduler's log.
FAULT_MESSAGE_BYTES = 255
_FAULT_PREFIX = exception.NoValidHost(reason='').format_message()


def invalid_reason(request):
    """Why the encryption request cannot be honoured as written, or None."""
    if request.encryption.error:
        return (_("Invalid memory encryption request: %s")
                % request.encryption.error)
    return None


def conflict_reason(request, checks):
    """What the request combines memory encryption with, or None.

    :param checks: the loaded request checks, see ``sev_scheduler.checks``.
    """
    if not request.encryption.requested:
        return None
    conflicts = [conflict for check in checks
                 for conflict in check.conflicts(request)]
    if not conflicts:
        return None
    model = request.encryption.model
    subject = (_("Memory encryption (%s) cannot be used with ") % model
               if model else _("Memory encryption cannot be used with "))
    return fitting_reason(subject, conflicts)


def _fits(reason):
    return (len((_FAULT_PREFIX + reason).encode('utf-8')) <=
            FAULT_MESSAGE_BYTES)


def _headline(conflict):
    """What a conflict is, without which device says so.

    "PCI passthrough: flavor alias 'gpu'" -> "PCI passthrough";
    "boot disk bus 'usb' (image property hw_disk_bus)" -> "boot disk bus
    'usb'".
    """
    return conflict.split(':', 1)[0].split(' (', 1)[0].strip()


def fitting_reason(subject, conflicts):
    """``subject`` and every conflict, named within the fault's message.

    Nova cuts a fault's message at 255 bytes: when the whole list does not
    fit, a summary naming every kind of conflict comes first (how many of
    each), and the whole list after it, as "Details: ...".
    """
    reason = subject + '; '.join(conflicts)
    if _fits(reason):
        return reason
    counts = collections.Counter(_headline(c) for c in conflicts)
    headlines = ['%s (%d)' % (h, n) if n > 1 else h
                 for h, n in counts.items()]
    budget = (FAULT_MESSAGE_BYTES - len(_FAULT_PREFIX + subject) -
              len('. Details: '))
    if len(', '.join(headlines)) > budget:
        # Even the kinds are too long: an equal share for each.
        width = max(budget // len(headlines) - 5, 8)
        headlines = [h if len(h) <= width else h[:width - 3] + '...'
                     for h in headlines]
    return '%s%s. Details: %s' % (subject, ', '.join(headlines),
                                  '; '.join(conflicts))
