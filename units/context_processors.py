"""Template context: the signed-in user's role, for the navigation bar."""

from .roles import BLOOD_OFFICE, LEADERSHIP, LIAISON, role_of


def roles(request):
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "user_role": role,
        "is_blood_office": role == BLOOD_OFFICE,
        "is_leadership": role == LEADERSHIP,
        "is_liaison": role == LIAISON,
    }
