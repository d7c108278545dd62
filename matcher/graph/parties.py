"""Parties from stored rows: the one place each kind of node is built.

Processes are tagged from the declared list and from the profile text alike, because small
firms often describe in prose what they never tick in a form.
"""

from __future__ import annotations

from matcher.graph.features import CERT_PATTERN
from matcher.graph.model import Party
from matcher.store.tables import Need, Organization, Person, ResearchSeed, split_list
from matcher.text import normalize
from matcher.text.taxonomy import tag_processes


def org_party(org: Organization, docs: list[str]) -> Party:
    text = "\n".join(docs)
    declared = tag_processes(";".join(split_list(org.processes)))
    return Party(type="organization", id=org.id, external_id=org.external_id, name=org.name, text=text,
                 org_id=org.id, org_name=org.name, city=org.city, employees=org.employees, kind=org.kind,
                 certifications=tuple(split_list(org.certifications)),
                 processes=tuple(dict.fromkeys(declared + tag_processes(text))),
                 jsic_codes=tuple(split_list(org.jsic_codes)), updated_at=org.updated_at)


def need_party(need: Need, requester: Organization | None) -> Party:
    required = tuple(dict.fromkeys(code for p in split_list(need.required_processes) for code in tag_processes(p)))
    return Party(type="need", id=need.id, external_id=need.external_id, name=need.title,
                 text=normalize(f"{need.title}\n{need.text}"), org_id=need.org_id,
                 org_name=requester.name if requester else None, city=requester.city if requester else None,
                 required=required, updated_at=need.updated_at)


def seed_party(seed: ResearchSeed, docs: list[str], host: Organization | None) -> Party:
    return Party(type="seed", id=seed.id, external_id=seed.external_id, name=seed.title, text="\n".join(docs),
                 org_id=seed.org_id, org_name=host.name if host else None, city=host.city if host else None,
                 processes=tuple(tag_processes(seed.title + ";" + seed.keywords)),
                 keywords=tuple(split_list(seed.keywords)), institution=seed.institution, url=seed.url,
                 source=seed.source, updated_at=seed.updated_at)


def person_party(person: Person, docs: list[str], org_ids: dict[str, int]) -> Party:
    """``org_ids``: 企業ID → organisation id, to resolve the employer and the declared conflicts
    (unknown ones are ignored: the organisation may not be registered yet). Processes are tagged
    from the specialities first, then from the background and the introduction."""
    text = "\n".join(docs)
    specialities = tuple(split_list(person.specialities))
    processes = tag_processes(";".join(specialities)) + tag_processes(text)
    return Party(type="person", id=person.id, external_id=person.external_id, name=person.name, text=text,
                 city=person.city, certifications=tuple(dict.fromkeys(CERT_PATTERN.findall(person.background))),
                 processes=tuple(dict.fromkeys(processes)), updated_at=person.updated_at,
                 category=person.category, contact_mode=person.contact_mode,
                 hours_per_month=person.hours_per_month, languages=tuple(split_list(person.languages)),
                 specialities=specialities, affiliation_id=org_ids.get(person.affiliation or ""),
                 conflicts=tuple(sorted({org_ids[c] for c in split_list(person.conflicts) if c in org_ids})))
